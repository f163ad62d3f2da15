import { PERSISTENT_2_PER_UNIT_THROUGHPUTS, persistent2CapacityAtLeast } from '../../lib/catalog/fsx-lustre';
import { fsxThroughputMBps, sizeCheckpoint, smallestFsxFor } from '../../lib/planner/checkpoint';
import { findModel } from '../../lib/planner/models';
import { PlannerInputError } from '../../lib/planner/errors';

const llama70b = findModel('llama-3.3-70b');
const swallowRun = { model: llama70b, gpus: 256, gpusPerNode: 8 };

describe('sizeCheckpoint', () => {
  test('70B distributed-optimizer checkpoint: 14 bytes/param = 987.8 GB; weights only 141.1 GB', () => {
    expect(sizeCheckpoint(swallowRun).sizeGB).toBeCloseTo(987.75, 2);
    expect(sizeCheckpoint({ ...swallowRun, weightsOnly: true }).sizeGB).toBeCloseTo(141.11, 2);
  });

  test('0.99 TB to 48 TiB at 250 MB/s/TiB (12 GB/s) takes about 82 s', () => {
    const c = sizeCheckpoint({ ...swallowRun, fsxCapacityTiB: 48, fsxPerUnitThroughputMBps: 250 });
    expect(c.fsxThroughputMBps).toBe(12000);
    expect(c.writeSeconds).toBeCloseTo(82.3, 1);
  });

  test('without a file system there is no write time', () => {
    expect(sizeCheckpoint(swallowRun)).toMatchObject({ fsxThroughputMBps: 0, writeSeconds: 0 });
  });

  test('host staging per node = bytes per rank x ranks per node; the stall is the per-GPU copy', () => {
    const c = sizeCheckpoint({ ...swallowRun, stagingGBpsPerGpu: 4 });
    expect(c.bytesPerGpu * 256).toBeCloseTo(c.bytes, 0);
    expect(c.hostStagingGiBPerNode).toBeCloseTo(c.bytesPerGpu * 8 / 1024 ** 3, 9);
    expect(c.asyncStallSeconds).toBeCloseTo(c.bytesPerGpu / 4e9, 9);
    // Asynchronous saves stall far less than the synchronous write at the Swallow file system's 12 GB/s.
    expect(c.asyncStallSeconds * 10).toBeLessThan(82);
  });

  test('a per-unit throughput PERSISTENT_2 does not offer is refused with the allowed values', () => {
    expect(() => sizeCheckpoint({ ...swallowRun, fsxCapacityTiB: 48, fsxPerUnitThroughputMBps: 200 }))
      .toThrow(/must be one of 125, 250, 500, 1000 MB\/s\/TiB, got 200/);
    expect(() => fsxThroughputMBps(0, 250)).toThrow(PlannerInputError);
  });
});

describe('smallestFsxFor', () => {
  const bytes = 987.75e9;

  test('finds the least capacity, then the lowest tier, that writes within the time', () => {
    const fsx = smallestFsxFor({ checkpointBytes: bytes, withinSeconds: 120 });
    expect(fsx.checkpointWriteSeconds).toBeLessThanOrEqual(120);
    expect(fsx.throughputMBps).toBe(fsx.storageCapacityGiB / 1024 * fsx.perUnitThroughputMBps);
    // Nothing smaller would do.
    for (let cap = 1200; cap <= fsx.storageCapacityGiB; cap = cap === 1200 ? 2400 : cap + 2400) {
      for (const perUnit of PERSISTENT_2_PER_UNIT_THROUGHPUTS) {
        const smaller = cap < fsx.storageCapacityGiB || perUnit < fsx.perUnitThroughputMBps;
        if (smaller) expect(bytes / (cap / 1024 * perUnit * 1e6)).toBeGreaterThan(120);
      }
    }
    expect(fsx).toMatchObject({ storageCapacityGiB: 9600, perUnitThroughputMBps: 1000 });
  });

  test('returns valid PERSISTENT_2 capacities (1200, 2400, then steps of 2400) at least the minimum', () => {
    for (const minimum of [1, 1200, 1201, 2400, 5000, 30000]) {
      const { storageCapacityGiB: cap } = smallestFsxFor({ checkpointBytes: 1e9, withinSeconds: 3600,
        minimumCapacityGiB: minimum });
      expect(cap === 1200 || cap % 2400 === 0).toBe(true);
      expect(cap).toBeGreaterThanOrEqual(minimum);
      expect(cap).toBe(persistent2CapacityAtLeast(minimum));
    }
  });

  test('an impossible target is refused', () => {
    expect(() => smallestFsxFor({ checkpointBytes: bytes, withinSeconds: 0.1 })).toThrow(/cannot be met/);
  });
});
