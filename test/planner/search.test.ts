import { findGpu, GpuType } from '../../lib/planner/gpus';
import { findInstanceType } from '../../lib/planner/instances';
import { layoutProblems } from '../../lib/planner/layout';
import { estimateMemory } from '../../lib/planner/memory';
import { findModel } from '../../lib/planner/models';
import { enumerateLayouts, searchLayouts, SearchInput } from '../../lib/planner/search';
import { defaultFabric, fabricForInstance } from '../../lib/planner/throughput';
import { readGrid } from './fixtures';

const p5 = fabricForInstance(findInstanceType('ml.p5.48xlarge'));
const swallow: SearchInput = {
  model: findModel('llama-3.3-70b'), fabric: p5, totalGpus: 256, sequenceLength: 8192, globalBatchSize: 1024,
};

describe('searchLayouts', () => {
  const results = searchLayouts(swallow);

  test('returns only layouts that fit by the 80% rule, fastest first', () => {
    expect(results.length).toBeGreaterThan(5);
    for (const c of results) {
      expect(c.verdict.fits).toBe(true);
      expect(c.memory.totalGiB).toBeLessThanOrEqual(0.8 * 80);
    }
    const speeds = results.map((c) => c.throughput.tflopsPerGpu);
    expect(speeds).toEqual([...speeds].sort((a, b) => b - a));
  });

  test('every result obeys the rules: TP·CP inside a node, PP divides layers, GPUs add up, batch divides', () => {
    for (const { layout: l } of results) {
      expect(8 % (l.tp * l.cp)).toBe(0);
      expect(80 % l.pp).toBe(0);
      expect(l.tp * l.pp * l.cp * l.dp).toBe(256);
      expect(1024 % (l.mbs * l.dp)).toBe(0);
      expect(64 % l.tp).toBe(0);
    }
  });

  test('the memory in a result is the memory estimate of its layout', () => {
    const best = results[0];
    expect(best.memory.totalGiB).toBe(estimateMemory({
      model: swallow.model, layout: best.layout, sequenceLength: 8192, globalBatchSize: 1024,
    }).totalGiB);
  });

  test('the 70B layout that is over 80% of 80 GB (t4 p4 d8) is not offered; t8 p4 d8 is', () => {
    const has = (tp: number, pp: number, cp: number) =>
      results.some((c) => c.layout.tp === tp && c.layout.pp === pp && c.layout.cp === cp);
    expect(has(4, 4, 1)).toBe(false);
    expect(has(8, 4, 1)).toBe(true);
  });

  test('enumeration finds exactly the layouts a brute force over all sizes accepts', () => {
    const input = { ...swallow, globalBatchSize: 1536, maxVp: 1 };
    const ctx = { sequenceLength: 8192, globalBatchSize: 1536, totalGpus: 256, gpusPerNode: 8 };
    const brute: string[] = [];
    for (let tp = 1; tp <= 256; tp++) for (let pp = 1; pp <= 256; pp++) for (let cp = 1; cp <= 256; cp++) {
      if (256 % (tp * pp * cp) !== 0) continue;
      for (let mbs = 1; mbs <= 16; mbs++) {
        const layout = { tp, pp, cp, dp: 256 / (tp * pp * cp), mbs, vp: 1 };
        if (layoutProblems(swallow.model, layout, ctx).length === 0) brute.push(JSON.stringify(layout));
      }
    }
    expect(enumerateLayouts(input).map((l) => JSON.stringify(l)).sort()).toEqual(brute.sort());
  });

  test('includeNonFitting lists the others after those that fit; each layout once with its best VP', () => {
    const all = searchLayouts({ ...swallow, includeNonFitting: true });
    const firstMiss = all.findIndex((c) => !c.verdict.fits);
    expect(firstMiss).toBe(results.length);
    expect(all.slice(firstMiss).every((c) => !c.verdict.fits)).toBe(true);
    const keys = all.map(({ layout: l }) => `${l.tp}/${l.pp}/${l.cp}/${l.dp}/${l.mbs}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  test('a stricter threshold leaves fewer layouts', () => {
    expect(searchLayouts({ ...swallow, memoryThreshold: 0.6 }).length).toBeLessThan(results.length);
  });

  test('on the grid\'s 8 H100 94GB, of the layouts that ran, it ranks the measured fastest first', () => {
    const ran = readGrid('llama31-8b-4d-grid.csv').filter((c) => c.status === 'ran' && c.gpu === 'H100 94GB'
      && c.gpus === 8);
    const key = (l: { tp: number; cp: number; pp: number; mbs: number }) => `${l.tp}/${l.cp}/${l.pp}/${l.mbs}`;
    const measured = new Set(ran.map(key));
    const offered = searchLayouts({
      model: findModel('llama-3.1-8b'), fabric: defaultFabric(findGpu(GpuType.H100_94GB)), totalGpus: 8,
      sequenceLength: 8192, globalBatchSize: 1024, memoryThreshold: 1, maxVp: 1,
    }).filter((c) => measured.has(key(c.layout)));
    const fastest = ran.reduce((a, b) => (b.tflops > a.tflops ? b : a)); // (TP1, CP2, mbs1): 495.9
    expect(key(offered[0].layout)).toBe(key(fastest));
  });

  test('nothing fits Llama 3.1 405B on 1024 80 GB GPUs when PP must divide its 126 layers', () => {
    expect(searchLayouts({ ...swallow, model: findModel('llama-3.1-405b'), totalGpus: 1024 })).toEqual([]);
  });
});
