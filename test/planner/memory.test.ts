import { Recomputation } from '../../lib/planner/layout';
import { estimateMemory, memoryVerdict, parametersOnMostLoadedGpu } from '../../lib/planner/memory';
import { findGpu } from '../../lib/planner/gpus';
import { findModel } from '../../lib/planner/models';
import { readGrid } from './fixtures';

const llama8b = findModel('llama-3.1-8b');
const llama70b = findModel('llama-3.3-70b');

function memory8b(tp: number, pp: number, cp: number, dp: number, mbs: number) {
  return estimateMemory({ model: llama8b, layout: { tp, pp, cp, dp, mbs }, sequenceLength: 8192 });
}

describe('published expected values (Llama-3.1-8B, s 8192, planner-reference.md)', () => {
  // [t, p, c, d, b, weights+gradients+optimizer GiB, activations GiB]
  test.each([
    [2, 1, 1, 2, 1, 44.8726, 22.6445],
    [1, 1, 2, 2, 1, 67.3089, 22.6445],
    [2, 2, 1, 32, 1, 11.9193, 20.75],
    [2, 1, 2, 32, 2, 23.1374, 22.6445],
  ])('t%d p%d c%d d%d b%d', (t, p, c, d, b, staticGiB, activationGiB) => {
    const m = memory8b(t, p, c, d, b);
    expect(m.weightsGradientsOptimizerGiB).toBeCloseTo(staticGiB, 4);
    expect(m.activationsGiB).toBeCloseTo(activationGiB, 4);
  });

  test('the activation check value in bytes', () => {
    expect(memory8b(2, 1, 1, 2, 1).activationsGiB * 1024 ** 3).toBe(24314380288);
  });
});

describe('Llama-3.3-70B on 80 GB H100 (derived values)', () => {
  const h100 = findGpu('h100-80gb');
  const at = (tp: number) => estimateMemory({
    model: llama70b, layout: { tp, pp: 4, cp: 1, dp: 8, mbs: 1 }, sequenceLength: 8192,
  });

  test('t4 p4 d8 is about 82.8 GiB and fails the 80% rule', () => {
    expect(at(4).totalGiB).toBeCloseTo(82.8, 1);
    expect(memoryVerdict(at(4).totalGiB, h100).fits).toBe(false);
  });

  test('t8 p4 d8 is about 41.4 GiB and fits', () => {
    expect(at(8).totalGiB).toBeCloseTo(41.4, 1);
    expect(memoryVerdict(at(8).totalGiB, h100)).toMatchObject({ fits: true, limitGiB: 64 });
  });

  test('the threshold is a parameter: 82.8 GiB fits a 94 GB GPU only above 88%', () => {
    const h94 = findGpu('h100-94gb');
    expect(memoryVerdict(at(4).totalGiB, h94, 0.8).fits).toBe(false);
    expect(memoryVerdict(at(4).totalGiB, h94, 0.9).fits).toBe(true);
    expect(() => memoryVerdict(at(4).totalGiB, h94, 0)).toThrow(/memoryThreshold must be a number greater than 0/);
  });
});

describe('breakdown and options', () => {
  const base = { model: llama8b, layout: { tp: 2, pp: 1, cp: 1, dp: 4, mbs: 1 }, sequenceLength: 8192 };

  test('parts add up and follow the bytes per parameter', () => {
    const m = estimateMemory(base);
    const params = parametersOnMostLoadedGpu(llama8b, base.layout);
    expect(m.weightsGiB * 1024 ** 3).toBeCloseTo(params * 2, 0);
    expect(m.gradientsGiB).toBeCloseTo(2 * m.weightsGiB, 10);
    expect(m.optimizerStatesGiB).toBeCloseTo(m.weightsGiB * 6 / 4, 10); // 12 bytes over DP 4
    expect(m.totalGiB).toBeCloseTo(m.weightsGiB + m.gradientsGiB + m.optimizerStatesGiB + m.activationsGiB, 10);
  });

  test('without the distributed optimizer every GPU holds all 12 optimizer bytes', () => {
    const m = estimateMemory({ ...base, options: { distributedOptimizer: false } });
    expect(m.optimizerStatesGiB).toBeCloseTo(6 * m.weightsGiB, 10);
  });

  test('bf16 gradient accumulation halves the gradients', () => {
    const m = estimateMemory({ ...base, options: { fp32GradientAccumulation: false } });
    expect(m.gradientsGiB).toBeCloseTo(m.weightsGiB, 10);
  });

  test('full recomputation keeps far fewer activations; selective equals none with flash attention', () => {
    const none = estimateMemory(base).activationsGiB;
    expect(estimateMemory({ ...base, options: { recomputation: Recomputation.SELECTIVE } }).activationsGiB)
      .toBe(none);
    expect(estimateMemory({ ...base, options: { recomputation: Recomputation.FULL } }).activationsGiB)
      .toBeLessThan(none / 3);
  });

  test('interleaving multiplies activations by 1 + (p - 1)/(p·v)', () => {
    const layout = { tp: 2, pp: 4, cp: 1, dp: 1, mbs: 1 };
    const plain = estimateMemory({ ...base, layout }).activationsGiB;
    expect(estimateMemory({ ...base, layout: { ...layout, vp: 2 } }).activationsGiB)
      .toBeCloseTo(plain * (1 + 3 / 8), 10);
  });

  test('fewer micro-batches than stages means fewer in flight', () => {
    const layout = { tp: 2, pp: 4, cp: 1, dp: 8, mbs: 1 };
    const full = estimateMemory({ ...base, layout }).activationsGiB;
    expect(estimateMemory({ ...base, layout, globalBatchSize: 16 }).activationsGiB).toBeCloseTo(full / 2, 10);
    expect(estimateMemory({ ...base, layout, globalBatchSize: 1024 }).activationsGiB).toBeCloseTo(full, 10);
  });

  test('padding the vocabulary to 128·TP adds its rows', () => {
    const padded = parametersOnMostLoadedGpu(llama8b, { tp: 4, pp: 2, cp: 1, dp: 1, mbs: 1 },
      { distributedOptimizer: true, fp32GradientAccumulation: true, recomputation: Recomputation.NONE,
        padVocabulary: true });
    const plain = parametersOnMostLoadedGpu(llama8b, { tp: 4, pp: 2, cp: 1, dp: 1, mbs: 1 });
    expect(padded - plain).toBe((128512 - 128256) * 4096 / 4);
  });
});

describe('against the measured grid', () => {
  test('no layout that ran at sequence 8192 is estimated above its GPU memory', () => {
    const ran = readGrid('llama31-8b-4d-grid.csv').filter((c) => c.status === 'ran');
    const over = ran.filter((c) => estimateMemory({
      model: llama8b, layout: { tp: c.tp, pp: c.pp, cp: c.cp, dp: c.dp, mbs: c.mbs },
      sequenceLength: c.sequenceLength, globalBatchSize: 1024,
    }).totalGiB > (c.gpu.startsWith('A100') ? 40 : 94));
    expect(ran.length).toBe(122);
    expect(over).toEqual([]);
  });
});
