import { Recomputation } from '../../lib/planner/layout';
import { estimateMemory, memoryVerdict, parametersOnMostLoadedGpu } from '../../lib/planner/memory';
import { findGpu } from '../../lib/planner/gpus';
import { defineModel, findModel } from '../../lib/planner/models';
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

  test('PP dividing the layers: the first stage is the most-loaded GPU, as published', () => {
    expect(memory8b(2, 2, 1, 32, 1)).toMatchObject({ stage: 0, stageLayers: 16 });
  });
});

describe('uneven pipeline stages (hand-computed)', () => {
  // 10 layers, h 1024, f 2048, 8 heads and 8 KV heads, untied: 2h² + 2h² + 3hf + 2h = 10,487,808 parameters per
  // layer and 32·s·h = 33,554,432 activation bytes per layer and micro-batch at s 1024. PP 4 splits the layers
  // 2 + 3 + 3 + 2. TP, CP, DP 1: 2 + 4 + 12 = 18 bytes per parameter.
  const tiny = (vocabSize: number) => defineModel({ id: 'tiny', name: 'tiny', hiddenSize: 1024, ffnHiddenSize: 2048,
    numLayers: 10, numAttentionHeads: 8, numKvHeads: 8, vocabSize, tiedEmbeddings: false });
  const layout = { tp: 1, pp: 4, cp: 1, dp: 1, mbs: 1 };
  const layer = 10487808;
  const act = 33554432;
  const bytes = (m: { totalGiB: number }) => Math.round(m.totalGiB * 1024 ** 3);

  test('a middle stage can be the most-loaded GPU: 3 layers with 3 micro-batches in flight', () => {
    // first: (2 layers + 1024·1000 embedding)·18 + 4 in flight·2 layers·act + 8·s·h·4 = 697,982,976 B
    // second: 3 layers·18 + 3 in flight·3 layers·act = 566,341,632 + 301,989,888 = 868,331,520 B
    // last: (2 layers + embedding + h)·18 + 1·2·act + 4·s·h·(1 + V/h) = 471,410,688 B
    const m = estimateMemory({ model: tiny(1000), layout, sequenceLength: 1024 });
    expect(m).toMatchObject({ stage: 1, stageLayers: 3, parametersOnGpu: 3 * layer });
    expect(m.activationsGiB * 1024 ** 3).toBe(9 * act);
    expect(bytes(m)).toBe(868331520);
  });

  test('fewer micro-batches than stages: each stage keeps at most the step\'s micro-batches', () => {
    // Global batch 2: the second stage keeps 2 of its 3 in flight.
    const m = estimateMemory({ model: tiny(1000), layout, sequenceLength: 1024, globalBatchSize: 2 });
    expect(m.activationsGiB * 1024 ** 3).toBeCloseTo(6 * act, 3);
    expect(m.stage).toBe(1);
  });

  test('with a large vocabulary the last stage (output layer and fp32 loss) is the most-loaded GPU', () => {
    // V 100,000: last (2 layers + 102,400,000 + 1024)·18 + 2·act + 4·1024·1024·(1 + 100000/1024) = 2,701,682,688 B;
    // first (2 layers + 102,400,000)·18 + 8·act + 8·1024·1024·4 = 2,522,750,976 B.
    const m = estimateMemory({ model: tiny(100000), layout, sequenceLength: 1024 });
    expect(m).toMatchObject({ stage: 3, stageLayers: 2, parametersOnGpu: 2 * layer + 102400000 + 1024 });
    expect(bytes(m)).toBe(2701682688);
  });

  test('Llama 3.1 405B, TP8 PP16 (7 + 14×8 + 7), DP8: the second stage, too large without recomputation', () => {
    const llama405b = findModel('llama-3.1-405b');
    const at = (recomputation: Recomputation) => estimateMemory({ model: llama405b,
      layout: { tp: 8, pp: 16, cp: 1, dp: 8, mbs: 1 }, sequenceLength: 8192, globalBatchSize: 2048,
      options: { recomputation } });
    // 15 micro-batches in flight of 8 layers: 120 layers' activations, 38.25·s·h/8 bytes each.
    expect(at(Recomputation.NONE)).toMatchObject({ stage: 1, stageLayers: 8 });
    expect(at(Recomputation.NONE).activationsGiB).toBeCloseTo(120 * 8192 * 16384 * 38.25 / 8 / 1024 ** 3, 9);
    expect(at(Recomputation.NONE).totalGiB).toBeCloseTo(93.98, 2);
    // Full recomputation keeps only each layer's input: the first stage (embedding, 16 in flight) is then largest.
    expect(at(Recomputation.FULL)).toMatchObject({ stage: 0, stageLayers: 7 });
    expect(at(Recomputation.FULL).totalGiB).toBeCloseTo(27.41, 2);
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
        padVocabulary: true, tpCommOverlap: false, fp8: false, gradientReduceInBf16: false });
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
