import { layoutProblems, ParallelLayout, validateLayout } from '../../lib/planner/layout';
import { findModel } from '../../lib/planner/models';
import { PlannerInputError } from '../../lib/planner/errors';

const llama8b = findModel('llama-3.1-8b'); // 32 layers, 32 heads, 8 KV heads
const ok: ParallelLayout = { tp: 2, pp: 2, cp: 2, dp: 4, mbs: 1 };
const ctx = { sequenceLength: 8192, globalBatchSize: 1024, totalGpus: 32, gpusPerNode: 8 };

describe('layout rules', () => {
  test('a valid layout has no problems', () => {
    expect(layoutProblems(llama8b, ok, ctx)).toEqual([]);
    expect(() => validateLayout(llama8b, ok, ctx)).not.toThrow();
  });

  test.each<[string, Partial<ParallelLayout>, Partial<typeof ctx>, RegExp]>([
    ['GPU count', { dp: 2 }, {}, /TP·PP·CP·DP must equal the GPU count 32, got 2·2·2·2 = 16/],
    ['TP·CP inside a node', { tp: 4, cp: 4, dp: 1 }, {}, /TP·CP must divide the 8 GPUs of a node/],
    ['PP divides layers', { pp: 3 }, { totalGpus: 48 }, /PP must divide the 32 layers \(allowed: 1, 2, 4, 8, 16, 32\)/],
    ['heads divisible by TP', { tp: 3 }, { totalGpus: 48, gpusPerNode: 12 }, /TP must divide the 32 attention heads/],
    ['sequence divisible by 2·CP', { cp: 2 }, { sequenceLength: 8190 }, /divisible by 2·CP/],
    ['global batch', { dp: 4, mbs: 3 }, {}, /global batch 1024 must be divisible by micro-batch·DP = 12/],
    ['VP needs PP > 1', { pp: 1, dp: 8, vp: 2 }, {}, /virtual pipeline stages need PP > 1/],
    ['PP·VP divides layers', { vp: 3 }, {}, /PP·VP must divide the 32 layers, got 2·3 = 6/],
    ['positive integers', { tp: 0 }, {}, /tp must be a positive integer, got 0/],
  ])('%s', (_name, change, ctxChange, message) => {
    const problems = layoutProblems(llama8b, { ...ok, ...change }, { ...ctx, ...ctxChange });
    expect(problems.join('; ')).toMatch(message);
  });

  test('TP must divide the KV heads or be a multiple of them', () => {
    const qwen7b = findModel('qwen2.5-7b'); // 28 heads, 4 KV heads
    const wide = { sequenceLength: 8192, gpusPerNode: 8 };
    expect(layoutProblems(qwen7b, { tp: 4, pp: 1, cp: 1, dp: 1, mbs: 1 }, wide)).toEqual([]);
    const gqa6 = { ...llama8b, numAttentionHeads: 36, numKvHeads: 6 };
    expect(layoutProblems(gqa6, { tp: 4, pp: 1, cp: 1, dp: 1, mbs: 1 }, wide).join())
      .toMatch(/TP must divide the 6 KV heads or be a multiple of them, got 4/);
  });

  test('validateLayout names every broken rule in one PlannerInputError', () => {
    expect(() => validateLayout(llama8b, { tp: 3, pp: 3, cp: 1, dp: 1, mbs: 1 }, ctx)).toThrow(PlannerInputError);
    expect(() => validateLayout(llama8b, { tp: 3, pp: 3, cp: 1, dp: 1, mbs: 1 }, ctx))
      .toThrow(/GPU count 32.*node.*32 layers.*attention heads/);
  });
});
