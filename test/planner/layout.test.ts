import {
  LAYOUT_RULES_RELEASE, layoutProblems, ParallelLayout, pipelineSizes, pipelineSplit, pipelineSplitText, validateLayout,
} from '../../lib/planner/layout';
import { defineModel, findModel } from '../../lib/planner/models';
import { PlannerInputError } from '../../lib/planner/errors';
import { findInstanceType } from '../../lib/planner/instances';
import { planTraining } from '../../lib/planner/plan';
import { enumerateLayouts } from '../../lib/planner/search';
import { fabricForInstance } from '../../lib/planner/throughput';
import { renderMegatronSbatch } from '../../lib/training/megatron-launch';
import { MEGATRON_RELEASE } from '../../lib/training/megatron-release';

const llama8b = findModel('llama-3.1-8b'); // 32 layers, 32 heads, 8 KV heads
const llama70b = findModel('llama-3.3-70b'); // 80 layers
const ok: ParallelLayout = { tp: 2, pp: 2, cp: 2, dp: 4, mbs: 1 };
const ctx = { sequenceLength: 8192, globalBatchSize: 1024, totalGpus: 32, gpusPerNode: 8 };

describe('layout rules', () => {
  test('a valid layout has no problems', () => {
    expect(layoutProblems(llama8b, ok, ctx)).toEqual([]);
    expect(() => validateLayout(llama8b, ok, ctx)).not.toThrow();
  });

  test.each<[string, Partial<ParallelLayout>, Partial<typeof ctx>, RegExp]>([
    ['GPU count', { dp: 2 }, {}, /TP·PP·CP·DP must equal the GPU count 32, got 2·2·2·2 = 16/],
    ['PP divides the layers or splits them unevenly', { pp: 20 }, { totalGpus: 320 },
      /PP must divide the 32 layers \(1, 2, 4, 8, 16, 32\) or, from 3 stages, split them with fewer layers on the first and last stage and at least one on each \(3, 5, 6, 7, 9, 11, 12, 17\), got 20/],
    ['heads divisible by TP', { tp: 3 }, { totalGpus: 48, gpusPerNode: 12 }, /TP must divide the 32 attention heads/],
    ['sequence divisible by 2·CP', { cp: 2 }, { sequenceLength: 8190 }, /divisible by 2·CP/],
    ['global batch', { dp: 4, mbs: 3 }, {}, /global batch 1024 must be divisible by micro-batch·DP = 12/],
    ['VP needs PP > 1', { pp: 1, dp: 8, vp: 2 }, {}, /virtual pipeline stages need PP > 1/],
    ['PP·VP divides layers', { vp: 3 }, {}, /PP·VP must divide the 32 layers, got 2·3 = 6$/],
    ['sequence parallelism: TP·CP divides the sequence', { tp: 4, cp: 1, dp: 4 }, { sequenceLength: 8198 },
      /sequence parallelism splits each context-parallel chunk over TP, so TP·CP must divide the sequence length 8198, got 4·1 = 4/],
    ['interleaving: micro-batches per step a multiple of PP', { vp: 2 }, { globalBatchSize: 12 },
      /the interleaved schedule \(VP 2\) needs the 3 micro-batches per step to be a multiple of PP 2/],
    ['positive integers', { tp: 0 }, {}, /tp must be a positive integer, got 0/],
  ])('%s', (_name, change, ctxChange, message) => {
    const problems = layoutProblems(llama8b, { ...ok, ...change }, { ...ctx, ...ctxChange });
    expect(problems.join('; ')).toMatch(message);
  });

  test('TP must divide the KV heads (Megatron-LM splits the query groups over TP, it does not replicate them)', () => {
    const qwen7b = findModel('qwen2.5-7b'); // 28 heads, 4 KV heads
    const wide = { sequenceLength: 8192, gpusPerNode: 8 };
    expect(layoutProblems(qwen7b, { tp: 4, pp: 1, cp: 1, dp: 1, mbs: 1 }, wide)).toEqual([]);
    const gqa4 = { ...llama8b, numKvHeads: 4 }; // 32 heads: TP 8 divides them, not the 4 KV heads
    expect(layoutProblems(gqa4, { tp: 8, pp: 1, cp: 1, dp: 1, mbs: 1 }, wide))
      .toEqual(['TP must divide the 4 KV heads (query groups): Megatron-LM splits them over the TP ranks, got 8']);
  });

  test('the interleaved-schedule rule needs the global batch; without interleaving any count of micro-batches runs', () => {
    expect(layoutProblems(llama8b, { ...ok, vp: 2 }, { ...ctx, globalBatchSize: undefined })).toEqual([]);
    expect(layoutProblems(llama8b, ok, { ...ctx, globalBatchSize: 12 })).toEqual([]);
  });

  test('validateLayout names every broken rule in one PlannerInputError', () => {
    expect(() => validateLayout(llama8b, { tp: 3, pp: 20, cp: 1, dp: 1, mbs: 1 }, ctx)).toThrow(PlannerInputError);
    expect(() => validateLayout(llama8b, { tp: 3, pp: 20, cp: 1, dp: 1, mbs: 1 }, ctx))
      .toThrow(/GPU count 32.*32 layers.*attention heads.*KV heads.*sequence length/);
  });
});

describe('pipeline stages', () => {
  test.each([
    // [layers, PP, first, middle, last, text]
    [126, 16, 7, 8, 7, '7 + 14×8 + 7'], // Llama 3.1 405B as Meta trained it
    [126, 8, 15, 16, 15, '15 + 6×16 + 15'],
    [126, 32, 3, 4, 3, '3 + 30×4 + 3'],
    [32, 3, 10, 11, 11, '10 + 1×11 + 11'], // odd remainder: the first stage takes the smaller half
    [126, 2, 63, 63, 63, '2×63'],
    [80, 4, 20, 20, 20, '4×20'],
  ])('%d layers over PP %d: %d, %d, %d', (layers, pp, first, middle, last, text) => {
    const split = pipelineSplit(layers, pp);
    expect(split).toEqual({ stages: pp, first, middle, last, uneven: layers % pp !== 0 });
    expect(pipelineSplitText(split!)).toBe(text);
  });

  test.each([
    [33, 2, 'two stages cannot give the first and last fewer layers than a middle one'],
    [32, 20, 'the middle stages would need more layers than there are'],
    [32, 64, 'more stages than layers'],
  ])('no split of %d layers over PP %d: %s', (layers, pp) => {
    expect(pipelineSplit(layers, pp)).toBeUndefined();
  });

  test('every split adds up, puts at least one layer on each end and none above the middle', () => {
    for (const layers of [28, 32, 40, 80, 126]) {
      for (const pp of pipelineSizes(layers)) {
        const s = pipelineSplit(layers, pp)!;
        expect(pp === 1 ? s.first : s.first + (pp - 2) * s.middle + s.last).toBe(layers);
        expect(s.first).toBeGreaterThanOrEqual(1);
        expect(s.first).toBeLessThanOrEqual(s.last);
        expect(s.last).toBeLessThanOrEqual(s.middle);
        expect(s.uneven).toBe(layers % pp !== 0);
      }
    }
  });

  test('uneven stages are a layout; interleaved as the pinned release allows: VP divides every stage\'s layers', () => {
    const llama405b = findModel('llama-3.1-405b'); // 126 layers
    const layout = { tp: 8, pp: 16, cp: 1, dp: 8, mbs: 1 };
    const at1024 = { sequenceLength: 8192, globalBatchSize: 2048, totalGpus: 1024, gpusPerNode: 8 };
    expect(layoutProblems(llama405b, layout, at1024)).toEqual([]);
    // 7 + 14×8 + 7: no VP above 1 divides 7 and 8; PP16·VP2 divides 128 with the embedding and loss as layers.
    expect(layoutProblems(llama405b, { ...layout, vp: 2 }, at1024)).toEqual(['uneven pipeline stages (7 + 14×8 + 7 '
      + 'layers) with the interleaved schedule need the first, each middle and the last stage\'s layers divisible by VP '
      + '(Megatron-LM core_v0.15.3), got VP 2 with first 7, last 7; PP·VP = 32 divides the 128 counting the embedding '
      + 'and the loss as one layer each, which needs --account-for-embedding-in-pipeline-split '
      + '--account-for-loss-in-pipeline-split (not in the generated launch)']);
    expect(layoutProblems(llama405b, { ...layout, vp: 2 }, { ...at1024, embeddingAndLossInSplit: true })).toEqual([]);
    expect(layoutProblems(llama405b, { ...layout, vp: 3 }, { ...at1024, embeddingAndLossInSplit: true })).toEqual([
      'uneven pipeline stages (7 + 14×8 + 7 layers) with the interleaved schedule need the first, each middle and the '
      + 'last stage\'s layers divisible by VP (Megatron-LM core_v0.15.3), got VP 3 with first 7, middle 8, last 7']);
    // 80 layers over PP 6 are 12 + 14×4 + 12: VP 2 divides each, VP 4 not the middle 14.
    const at96 = { sequenceLength: 8192, globalBatchSize: 960, totalGpus: 96, gpusPerNode: 8 };
    const pp6 = { tp: 8, pp: 6, cp: 1, dp: 2, mbs: 1 };
    expect(layoutProblems(llama70b, { ...pp6, vp: 2 }, at96)).toEqual([]);
    expect(layoutProblems(llama70b, { ...pp6, vp: 4 }, at96).join()).toMatch(/got VP 4 with middle 14$/);
  });

  test('the rules are those of the Megatron-LM release the training image pins', () => {
    expect(LAYOUT_RULES_RELEASE).toBe(MEGATRON_RELEASE.tag);
  });

  test('the launch script runs an uneven interleaved layout the rules accept (the release\'s own checks pass)', () => {
    const plan = planTraining({ model: llama70b, instanceType: 'ml.p5.48xlarge', nodes: 12, tokens: 10e9,
      sequenceLength: 8192, globalBatchSize: 960, pinnedLayout: { tp: 8, pp: 6, vp: 2 } });
    expect(plan.layout).toMatchObject({ tp: 8, pp: 6, vp: 2 });
    const script = renderMegatronSbatch(plan);
    expect(script).toMatch(/--decoder-first-pipeline-num-layers 12\n.*--decoder-last-pipeline-num-layers 12/s);
    expect(script).toMatch(/--num-virtual-stages-per-pipeline-rank 2/);
  });

  test('the search offers uneven interleaved layouts, each with a VP that divides every stage', () => {
    const layouts = enumerateLayouts({ model: llama70b, fabric: fabricForInstance(findInstanceType('ml.p5.48xlarge')),
      totalGpus: 96, sequenceLength: 8192, globalBatchSize: 960, maxMbs: 1 });
    const unevenInterleaved = layouts.filter((l) => l.pp === 6 && (l.vp ?? 1) > 1);
    expect([...new Set(unevenInterleaved.map((l) => l.vp))]).toEqual([2]);
    const split = pipelineSplit(80, 6)!;
    for (const l of unevenInterleaved) {
      for (const layers of [split.first, split.middle, split.last]) expect(layers % l.vp!).toBe(0);
    }
  });

  test('a PP that can split the layers neither evenly nor unevenly is refused', () => {
    const odd = defineModel({ ...llama8b, id: 'odd', name: 'odd', numLayers: 33 });
    expect(layoutProblems(odd, { tp: 8, pp: 2, cp: 1, dp: 1, mbs: 1 }, { sequenceLength: 8192 }).join())
      .toMatch(/PP must divide the 33 layers \(1, 3, 11, 33\) or, from 3 stages, .*got 2/);
  });
});
