import { GpuType } from '../../lib/catalog/gpus';
import { findGpu } from '../../lib/planner/gpus';
import { findInstanceType } from '../../lib/planner/instances';
import { layoutProblems, pipelineSplit, Recomputation } from '../../lib/planner/layout';
import { estimateMemory } from '../../lib/planner/memory';
import { defineModel, findModel } from '../../lib/planner/models';
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

  test('every result obeys the rules: PP divides layers, GPUs add up, batch divides, TP divides the KV heads', () => {
    for (const { layout: l } of results) {
      expect(8 % l.tp).toBe(0);
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

  test('TP·CP spanning nodes is offered but ranked below the best layout inside a node', () => {
    const spanning = results.filter((c) => c.layout.tp * c.layout.cp > 8);
    expect(spanning.length).toBeGreaterThan(0);
    expect(results[0].layout.tp * results[0].layout.cp).toBeLessThanOrEqual(8);
  });

  test('enumeration finds exactly the layouts a brute force over all sizes (CP up to maxCp 16) accepts', () => {
    const input = { ...swallow, globalBatchSize: 1536, maxVp: 1 };
    const ctx = { sequenceLength: 8192, globalBatchSize: 1536, totalGpus: 256, gpusPerNode: 8 };
    const brute: string[] = [];
    for (let tp = 1; tp <= 256; tp++) for (let pp = 1; pp <= 256; pp++) for (let cp = 1; cp <= 16; cp++) {
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

  test('layouts the launch script generator would refuse never come out: KV heads, sequence parallelism, interleaving', () => {
    // 32 heads and 4 KV heads: TP 8 divides the heads but not the query groups.
    const gqa4 = defineModel({ ...findModel('llama-3.1-8b'), id: 'gqa4', name: 'gqa4', numKvHeads: 4 });
    const small = searchLayouts({ ...swallow, model: gqa4, totalGpus: 16, includeNonFitting: true });
    expect(small.length).toBeGreaterThan(0);
    expect(small.every((c) => c.layout.tp <= 4)).toBe(true);
    // Sequence 8190 = 2·3²·5·7·13: only TP 1 or 2 can split it (sequence parallelism), CP only 1.
    const odd = searchLayouts({ ...swallow, sequenceLength: 8190, includeNonFitting: true });
    expect(new Set(odd.map((c) => c.layout.tp))).toEqual(new Set([1, 2]));
    expect(odd.every((c) => c.layout.cp === 1)).toBe(true);
    // 1056 sequences: TP8 PP2 DP16 with micro-batch 2 has 33 micro-batches per step, not a multiple of PP 2: it
    // runs only without interleaving; with micro-batch 1 (66) it interleaves.
    const batch = searchLayouts({ ...swallow, globalBatchSize: 1056, includeNonFitting: true });
    const interleaved = batch.filter((c) => (c.layout.vp ?? 1) > 1);
    expect(interleaved.length).toBeGreaterThan(0);
    for (const { layout: l } of interleaved) expect((1056 / (l.mbs * l.dp)) % l.pp).toBe(0);
    const pick = (mbs: number) => batch.find((c) => c.layout.tp === 8 && c.layout.pp === 2 && c.layout.dp === 16
      && c.layout.mbs === mbs)?.layout.vp;
    expect(pick(2)).toBe(1);
    expect(pick(1)).toBeGreaterThan(1);
  });
});

describe('Llama 3.1 405B (126 layers) on 1024 H100 80GB: uneven pipeline stages', () => {
  const llama405b: SearchInput = { ...swallow, model: findModel('llama-3.1-405b'), totalGpus: 1024,
    globalBatchSize: 2048 };

  test('stages of 7 + 14×8 + 7 layers are offered; without recomputation only CP ≥ 2 (across nodes) fits', () => {
    const all = searchLayouts({ ...llama405b, includeNonFitting: true });
    const fitting = all.filter((c) => c.verdict.fits);
    expect(fitting.length).toBeGreaterThan(0);
    // CP halves the activations; with CP 1 every stage keeps ~ L layers' activations on one GPU.
    expect(fitting.every((c) => c.layout.cp >= 2 && c.layout.tp * c.layout.cp > 8)).toBe(true);
    const t8p16 = all.find((c) => c.layout.tp === 8 && c.layout.pp === 16 && c.layout.cp === 1 && c.layout.mbs === 1);
    expect(t8p16?.memory.totalGiB).toBeGreaterThan(80);
    expect(t8p16?.memory).toMatchObject({ stage: 1, stageLayers: 8 });
  });

  test('with full recomputation CP 1 fits too; uneven PP 16 is offered, and uneven splits never interleave', () => {
    const results = searchLayouts({ ...llama405b, options: { recomputation: Recomputation.FULL } });
    expect(results.length).toBeGreaterThan(10);
    const t4p16 = results.find((c) => c.layout.tp === 4 && c.layout.pp === 16 && c.layout.cp === 1);
    expect(t4p16).toBeDefined();
    expect(pipelineSplit(126, 16)).toMatchObject({ first: 7, middle: 8, last: 7, uneven: true });
    expect(results[0].memory.totalGiB).toBeLessThanOrEqual(64);
    expect(results[0].throughput.tflopsPerGpu).toBeGreaterThan(350);
    expect(results.some((c) => c.layout.tp === 8 && c.layout.pp === 16 && c.layout.dp === 8)).toBe(true);
    for (const { layout: l } of results) {
      expect(126 % l.pp === 0 || l.vp === 1).toBe(true);
      expect(l.pp).not.toBe(2); // 63 layers per stage: the static memory alone is over 80 GB
    }
  });
});
