import {
  nextPersistent2Capacity, PERSISTENT_2_PER_UNIT_THROUGHPUTS, persistent2CapacityAtLeast,
} from '../catalog/fsx-lustre';
import { PlannerInputError, requirePositive, requirePositiveInteger } from './errors';
import { countParameters, ModelArchitecture } from './models';

/*
 * Megatron distributed-optimizer checkpoints on FSx for Lustre: size, synchronous write time, the stall of an
 * asynchronous save, the host memory its staging buffers take, and the smallest PERSISTENT_2 file system that
 * writes one in time.
 */

const GIB = 1024 ** 3;

/** bf16 weights (2) + fp32 master weights (4) + Adam m (4) + v (4); gradients are not saved. */
export const FULL_CHECKPOINT_BYTES_PER_PARAMETER = 14;
/** bf16 weights only (for export or inference). */
export const WEIGHTS_ONLY_BYTES_PER_PARAMETER = 2;

/**
 * Effective rate of the blocking part of an asynchronous save (device-to-host copy plus coordination), GB/s per
 * GPU, calibrated on the one public 70B measurement (reference/checkpoint-facts.csv: PyTorch blog "6x faster Async
 * Checkpointing", Meta + Crusoe 2025, Llama3-70B on 1,856 H200, GPU blocked 0.78 s):
 * 70,553,706,496 · 14 B / 1856 = 532 MB per GPU in 0.78 s = 0.68 GB/s. (The previous assumption, 2 GB/s, was 3×
 * optimistic against it.)
 */
export const DEFAULT_STAGING_GBPS_PER_GPU = (70_553_706_496 * 14 / 1856) / 0.78 / 1e9;

/**
 * Fixed part of the stall (save planning, coordination), seconds. One measurement cannot separate it from the copy
 * rate, which carries the whole measured stall: 0 unless given.
 */
export const DEFAULT_STALL_FIXED_SECONDS = 0;

export interface CheckpointInput {
  readonly model: ModelArchitecture;
  /** GPUs that save (every rank writes its shard). */
  readonly gpus: number;
  readonly gpusPerNode: number;
  /**
   * Save only the bf16 weights (2 bytes per parameter) instead of the full training state (14).
   * @default false
   */
  readonly weightsOnly?: boolean;
  /** Storage capacity of the FSx for Lustre file system written to, TiB. Without it no write time is given. */
  readonly fsxCapacityTiB?: number;
  /**
   * Throughput per TiB of that file system, MB/s: 125, 250, 500 or 1000.
   * @default 250
   */
  readonly fsxPerUnitThroughputMBps?: number;
  /** @default DEFAULT_STAGING_GBPS_PER_GPU */
  readonly stagingGBpsPerGpu?: number;
  /** @default DEFAULT_STALL_FIXED_SECONDS */
  readonly stallFixedSeconds?: number;
}

export interface CheckpointEstimate {
  readonly bytes: number;
  /** Decimal gigabytes (10⁹ bytes), as storage is sold. */
  readonly sizeGB: number;
  readonly bytesPerGpu: number;
  /** Pinned host memory per node for asynchronous staging: bytes per rank × ranks per node. */
  readonly hostStagingGiBPerNode: number;
  /** Training stall of an asynchronous save. */
  readonly asyncStallSeconds: number;
  /** Aggregate FSx throughput, MB/s (0 when no file system was given). */
  readonly fsxThroughputMBps: number;
  /**
   * Time to write the checkpoint to the file system: the stall of a synchronous save, and how long an
   * asynchronous save keeps writing in the background. 0 when no file system was given.
   */
  readonly writeSeconds: number;
}

/** Size and timing of one checkpoint. */
export function sizeCheckpoint(input: CheckpointInput): CheckpointEstimate {
  requirePositiveInteger('gpus', input.gpus);
  requirePositiveInteger('gpusPerNode', input.gpusPerNode);
  const perParameter = input.weightsOnly ? WEIGHTS_ONLY_BYTES_PER_PARAMETER : FULL_CHECKPOINT_BYTES_PER_PARAMETER;
  const bytes = countParameters(input.model) * perParameter;
  const bytesPerGpu = bytes / input.gpus;
  const staging = input.stagingGBpsPerGpu ?? DEFAULT_STAGING_GBPS_PER_GPU;
  requirePositive('stagingGBpsPerGpu', staging);
  const throughput = input.fsxCapacityTiB === undefined ? 0
    : fsxThroughputMBps(input.fsxCapacityTiB, input.fsxPerUnitThroughputMBps ?? 250);
  return {
    bytes,
    sizeGB: bytes / 1e9,
    bytesPerGpu,
    hostStagingGiBPerNode: bytesPerGpu * Math.min(input.gpusPerNode, input.gpus) / GIB,
    asyncStallSeconds: (input.stallFixedSeconds ?? DEFAULT_STALL_FIXED_SECONDS) + bytesPerGpu / (staging * 1e9),
    fsxThroughputMBps: throughput,
    writeSeconds: throughput === 0 ? 0 : bytes / (throughput * 1e6),
  };
}

/** Aggregate throughput of a PERSISTENT_2 file system: capacity (TiB) × per-unit throughput (MB/s/TiB). */
export function fsxThroughputMBps(capacityTiB: number, perUnitThroughputMBps: number): number {
  requirePositive('fsxCapacityTiB', capacityTiB);
  requirePerUnitThroughput(perUnitThroughputMBps);
  return capacityTiB * perUnitThroughputMBps;
}

function requirePerUnitThroughput(value: number): void {
  if (!PERSISTENT_2_PER_UNIT_THROUGHPUTS.includes(value)) {
    throw new PlannerInputError('fsxPerUnitThroughputMBps',
      `must be one of ${PERSISTENT_2_PER_UNIT_THROUGHPUTS.join(', ')} MB/s/TiB, got ${value}`);
  }
}

/** A PERSISTENT_2 file system size. */
export interface FsxConfiguration {
  /** 1200, 2400, then multiples of 2400 GiB. */
  readonly storageCapacityGiB: number;
  readonly perUnitThroughputMBps: number;
  /** Aggregate throughput, MB/s. */
  readonly throughputMBps: number;
  /** Time to write the checkpoint the configuration was chosen for. */
  readonly checkpointWriteSeconds: number;
}

export interface FsxRequirement {
  readonly checkpointBytes: number;
  /** The checkpoint must be written within this many seconds. */
  readonly withinSeconds: number;
  /**
   * Capacity the data needs (checkpoints kept, datasets), GiB.
   * @default 1200
   */
  readonly minimumCapacityGiB?: number;
}

/** Largest capacity considered: beyond this, more file systems (or a faster tier) are the answer. */
const MAX_CAPACITY_GIB = 2400 * 500;

/**
 * The smallest PERSISTENT_2 configuration (least capacity, then the lowest throughput tier) that holds the
 * minimum capacity and writes the checkpoint within the time given.
 */
export function smallestFsxFor(req: FsxRequirement): FsxConfiguration {
  requirePositive('checkpointBytes', req.checkpointBytes);
  requirePositive('withinSeconds', req.withinSeconds);
  const minimum = req.minimumCapacityGiB ?? 1200;
  for (let capacity = persistent2CapacityAtLeast(minimum); capacity <= MAX_CAPACITY_GIB;
    capacity = nextPersistent2Capacity(capacity)) {
    for (const perUnit of PERSISTENT_2_PER_UNIT_THROUGHPUTS) {
      const throughput = fsxThroughputMBps(capacity / 1024, perUnit);
      const seconds = req.checkpointBytes / (throughput * 1e6);
      if (seconds <= req.withinSeconds) {
        return { storageCapacityGiB: capacity, perUnitThroughputMBps: perUnit, throughputMBps: throughput,
          checkpointWriteSeconds: seconds };
      }
    }
  }
  throw new PlannerInputError('withinSeconds', `cannot be met by one PERSISTENT_2 file system of at most `
    + `${MAX_CAPACITY_GIB} GiB: ${(req.checkpointBytes / 1e9).toFixed(0)} GB in ${req.withinSeconds} s`);
}
