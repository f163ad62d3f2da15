import { findInstanceType } from '../../lib/planner/instances';
import { GpuType } from '../../lib/catalog/gpus';
import { findGpu } from '../../lib/planner/gpus';
import { ParallelLayout, Recomputation } from '../../lib/planner/layout';
import { defineModel, findModel } from '../../lib/planner/models';
import { flopsPerToken } from '../../lib/planner/flops';
import {
  defaultFabric, estimateThroughput, fabricForInstance, FITTED_THROUGHPUT_CONSTANTS, ThroughputInput,
} from '../../lib/planner/throughput';
import { calibrate, loss, report } from './calibrate';
import { GRID_FABRICS, GridCell, predictCell, readCsv, readGrid } from './fixtures';
import { mape, spearman } from './metrics';
import { fitFp8, heldOutH100Bf16, heldOutSummary, leaveOneOut, predictRun, publishedRuns } from './published';

const grid = readGrid('llama31-8b-4d-grid.csv').filter((c) => c.status === 'ran');
const heldOut = readGrid('llama31-8b-4d-grid-s16384.csv').filter((c) => c.status === 'ran');

function metrics(cells: readonly GridCell[]) {
  const predicted = cells.map((c) => predictCell(c));
  const measured = cells.map((c) => c.tflops);
  return { spearman: spearman(predicted, measured), mape: mape(predicted, measured) };
}

describe('calibration on the Llama-3.1-8B grid (sequence 8192)', () => {
  // Floors a little under what the shipped constants achieve (docs/planner.md), so a regression fails.
  test.each([
    ['A100 40GB', 56, 0.85, 9.6], // achieved: Spearman 0.870, MAPE 9.40%
    ['H100 94GB', 66, 0.93, 2.0], // achieved: Spearman 0.949, MAPE 1.78%
  ])('%s: ranks the %d measured layouts (Spearman >= %s) within MAPE %s%%', (gpu, count, rho, error) => {
    const cells = grid.filter((c) => c.gpu === gpu);
    expect(cells).toHaveLength(count);
    const m = metrics(cells);
    expect(m.spearman).toBeGreaterThanOrEqual(rho);
    expect(m.mape).toBeLessThanOrEqual(error);
  });

  test('the shipped constants are the fit: refitting does not improve the loss', () => {
    const shipped = loss(grid, FITTED_THROUGHPUT_CONSTANTS);
    expect(loss(grid, calibrate(grid))).toBeGreaterThan(shipped - 1e-6);
    expect(report(grid).map((r) => r.gpu).sort()).toEqual(['A100 40GB', 'H100 94GB']);
  });
});

describe('choosing among measured layouts', () => {
  test('at every GPU count, the layout ranked first ran within 3% of the fastest measured', () => {
    const groups = new Map<string, GridCell[]>();
    for (const c of grid) groups.set(`${c.gpu} ${c.gpus}`, [...(groups.get(`${c.gpu} ${c.gpus}`) ?? []), c]);
    const regrets = [...groups.values()].filter((cells) => cells.length > 1).map((cells) => {
      const pick = cells.reduce((a, b) => (predictCell(b) > predictCell(a) ? b : a));
      return 1 - pick.tflops / Math.max(...cells.map((c) => c.tflops));
    });
    expect(regrets).toHaveLength(11);
    expect(Math.max(...regrets)).toBeLessThan(0.03); // achieved: at most 2.0%
  });
});

describe('held-out checks (not used in the fit)', () => {
  test('sequence 16384 grid, TP·CP inside a node: Spearman >= 0.6, MAPE <= 8.5%', () => {
    const m = metrics(heldOut.filter((c) => c.tp * c.cp <= 4)); // achieved: Spearman 0.661, MAPE 7.8%
    expect(m.spearman).toBeGreaterThanOrEqual(0.6);
    expect(m.mape).toBeLessThanOrEqual(8.5);
  });

  test('context parallelism across nodes is predicted as slow as it ran (~290 TFLOP/s)', () => {
    const across = heldOut.filter((c) => c.tp === 2 && c.cp === 4);
    for (const cell of across) expect(Math.abs(predictCell(cell) / cell.tflops - 1)).toBeLessThan(0.12); // achieved: within 10.4%
  });

  // Meta's Llama 3 405B rows (BF16, H100, TP8 PP16, 16M-token batches = 2048 sequences of 8192).
  const meta = readCsv('throughput-reference.csv')
    .filter((r) => r.system.startsWith('Meta H100') && r.seq === '8192' && r.CP === '1')
    .map((r) => [Number(r.gpus), Number(r.model_TFLOPs_per_GPU)] as const);

  // PP 16 splits the 126 layers 7 + 14×8 + 7 as Meta did; VP 8 stands for Meta's interleaved schedule (its own
  // framework; Megatron-LM needs VP to divide 7 and 8, so the search does not offer it).
  test.each(meta)('Llama 3.1 405B on %d H100 (TP8 PP16, BF16): within 10%% of Meta\'s %d TFLOP/s', (gpus, measured) => {
    expect(meta).toHaveLength(2);
    const t = estimateThroughput({
      model: findModel('llama-3.1-405b'), layout: { tp: 8, pp: 16, cp: 1, dp: gpus / 128, mbs: 1, vp: 8 },
      sequenceLength: 8192, globalBatchSize: 2048, fabric: fabricForInstance(findInstanceType('ml.p5.48xlarge')),
    });
    expect(t.tflopsPerGpu / measured).toBeGreaterThan(0.9);
    expect(t.tflopsPerGpu / measured).toBeLessThan(1.1);
  });
});

describe('what makes layouts differ', () => {
  const llama8b = findModel('llama-3.1-8b');
  const h100 = GRID_FABRICS['H100 94GB'];
  const run = (layout: ParallelLayout, extra: Partial<ThroughputInput> = {}) => estimateThroughput({
    model: llama8b, layout, sequenceLength: 8192, globalBatchSize: 1024, fabric: h100, ...extra,
  });

  test('micro-batch 2 beats 1, as measured', () => {
    expect(run({ tp: 2, pp: 1, cp: 1, dp: 4, mbs: 2 }).tflopsPerGpu)
      .toBeGreaterThan(run({ tp: 2, pp: 1, cp: 1, dp: 4, mbs: 1 }).tflopsPerGpu);
  });

  test('throughput falls as the GPU count grows, for every measured layout', () => {
    const series = new Map<string, GridCell[]>();
    for (const c of grid) {
      const key = `${c.gpu} ${c.tp} ${c.cp} ${c.pp} ${c.mbs}`;
      series.set(key, [...(series.get(key) ?? []), c]);
    }
    for (const cells of series.values()) {
      const predicted = cells.sort((a, b) => a.gpus - b.gpus).map((c) => predictCell(c));
      predicted.slice(1).forEach((p, i) => expect(p).toBeLessThanOrEqual(predicted[i] + 1e-9));
    }
  });

  test('more tensor parallelism costs more communication', () => {
    const tp2 = run({ tp: 2, pp: 1, cp: 1, dp: 2, mbs: 1 });
    const tp4 = run({ tp: 4, pp: 1, cp: 1, dp: 1, mbs: 1 });
    expect(tp4.breakdown.tensorParallelSeconds).toBeGreaterThan(tp2.breakdown.tensorParallelSeconds);
    expect(tp4.tflopsPerGpu).toBeLessThan(tp2.tflopsPerGpu);
  });

  test('the pipeline bubble is (p - 1)/(m + p - 1) and interleaving divides it', () => {
    const plain = run({ tp: 1, pp: 4, cp: 1, dp: 1, mbs: 1 }, { globalBatchSize: 16 });
    expect(plain.bubbleFraction).toBeCloseTo(3 / (16 + 3), 12);
    const interleaved = run({ tp: 1, pp: 4, cp: 1, dp: 1, mbs: 1, vp: 2 }, { globalBatchSize: 16 });
    expect(interleaved.bubbleFraction).toBeCloseTo(1.5 / (16 + 1.5), 12);
    expect(interleaved.tflopsPerGpu).toBeGreaterThan(plain.tflopsPerGpu);
  });

  test('a faster network hides data-parallel traffic', () => {
    const layout = { tp: 8, pp: 1, cp: 1, dp: 16, mbs: 1 };
    const slow = run(layout, { fabric: fabricForInstance(findInstanceType('ml.p4de.24xlarge')), globalBatchSize: 128 });
    const fast = run(layout, { fabric: { ...defaultFabric(findGpu(GpuType.A100_80GB)), networkGbpsPerGpu: 400 },
      globalBatchSize: 128 });
    expect(fast.breakdown.dataParallelSeconds).toBeLessThan(slow.breakdown.dataParallelSeconds);
    expect(fast.tflopsPerGpu).toBeGreaterThan(slow.tflopsPerGpu);
  });

  test('full recomputation costs about a quarter of the model FLOP rate', () => {
    const layout = { tp: 2, pp: 1, cp: 1, dp: 2, mbs: 1 };
    const ratio = run(layout, { options: { recomputation: Recomputation.FULL } }).tflopsPerGpu
      / run(layout).tflopsPerGpu;
    expect(ratio).toBeGreaterThan(0.7);
    expect(ratio).toBeLessThan(0.8);
  });

  test('a context-parallel ring that crosses a node waits on the network every ring step', () => {
    // TP4 CP2 fills two 4-GPU nodes: each of the 32 layers pays (1 forward + 1 backward) × (CP − 1) send/receive
    // latencies per micro-batch (1024 of them). On 8-GPU nodes the ring stays on NVLink and pays none.
    const layout = { tp: 4, pp: 1, cp: 2, dp: 1, mbs: 1 };
    const cpSeconds = (fabric: typeof h100, p2pLatencySeconds: number) => estimateThroughput({ model: llama8b,
      layout, sequenceLength: 8192, globalBatchSize: 1024, fabric },
    { ...FITTED_THROUGHPUT_CONSTANTS, p2pLatencySeconds }).breakdown.contextParallelSeconds;
    const p2p = FITTED_THROUGHPUT_CONSTANTS.p2pLatencySeconds;
    expect(cpSeconds(h100, p2p) - cpSeconds(h100, 0)).toBeCloseTo(1024 * 32 * 2 * p2p, 9);
    const eightPerNode = { ...h100, gpusPerNode: 8 };
    expect(cpSeconds(eightPerNode, p2p)).toBeCloseTo(cpSeconds(eightPerNode, 0), 12);
  });

  test('context-parallel ranks in the node share its NVLink for the data-parallel reduce, as DP ranks do', () => {
    // 8 GPUs on two 4-GPU nodes: TP1 CP2 DP4 and TP1 CP1 DP8 reduce the same gradients over the same 8 ranks, 4 per
    // node (Megatron's DP·CP group is TP apart), so without overlap the same traffic shows.
    const noOverlap = { ...FITTED_THROUGHPUT_CONSTANTS, dpOverlap: 0 };
    const at = (layout: ParallelLayout) => estimateThroughput({ model: llama8b, layout, sequenceLength: 8192,
      globalBatchSize: 1024, fabric: h100 }, noOverlap).breakdown.dataParallelSeconds;
    expect(at({ tp: 1, pp: 1, cp: 2, dp: 4, mbs: 1 })).toBeCloseTo(at({ tp: 1, pp: 1, cp: 1, dp: 8, mbs: 1 }), 9);
  });

  test('Hopper runs causal attention at FlashAttention-2\'s share of peak, slower than its GEMMs', () => {
    // Doubling the sequence doubles attention per token: model TFLOP/s (non-causal count) rise, but less than with
    // attention at the GEMM rate.
    const layout = { tp: 2, pp: 1, cp: 1, dp: 2, mbs: 1 };
    const ratio = (k = FITTED_THROUGHPUT_CONSTANTS) => estimateThroughput({ model: llama8b, layout,
      sequenceLength: 16384, globalBatchSize: 1024, fabric: h100 }, k).tflopsPerGpu
      / estimateThroughput({ model: llama8b, layout, sequenceLength: 8192, globalBatchSize: 1024, fabric: h100 }, k)
        .tflopsPerGpu;
    expect(FITTED_THROUGHPUT_CONSTANTS.hopperAttentionEfficiency).toBeCloseTo(335 / 989, 3);
    const atGemmRate = { ...FITTED_THROUGHPUT_CONSTANTS,
      hopperAttentionEfficiency: FITTED_THROUGHPUT_CONSTANTS.hopperEfficiency };
    expect(ratio()).toBeGreaterThan(1);
    expect(ratio()).toBeLessThan(ratio(atGemmRate));
  });

  test('the parts add up to the step, and TFLOP/s = tokens/s x FLOPs per token', () => {
    const t = run({ tp: 2, pp: 2, cp: 2, dp: 1, mbs: 1 });
    const b = t.breakdown;
    expect(b.computeSeconds + b.tensorParallelSeconds + b.contextParallelSeconds + b.pipelineSeconds
      + b.dataParallelSeconds).toBeCloseTo(t.stepSeconds, 9);
    expect(t.tflopsPerGpu * 1e12).toBeCloseTo(t.tokensPerSecondPerGpu * flopsPerToken(llama8b, 8192), 0);
    expect(t.mfu).toBeCloseTo(t.tflopsPerGpu / 989, 12);
  });

  test('uneven stages: the pipeline runs at the pace of the slowest stage, a middle one with the most layers', () => {
    // 126 layers over PP 16 are 7 + 14×8 + 7: the middle stages (8 layers) are slower than the last (7 layers and
    // the output layer). A 128-layer variant splits evenly into 8 layers per stage, the last also running the
    // output layer: the same tensor-parallel time per micro-batch, more compute.
    const llama405b = findModel('llama-3.1-405b');
    const even128 = defineModel({ ...llama405b, id: 'even', name: 'even', numLayers: 128 });
    const at = (model: typeof llama405b) => estimateThroughput({ model,
      layout: { tp: 8, pp: 16, cp: 1, dp: 8, mbs: 1 }, sequenceLength: 8192, globalBatchSize: 2048,
      fabric: fabricForInstance(findInstanceType('ml.p5.48xlarge')) });
    const uneven = at(llama405b).breakdown;
    const even = at(even128).breakdown;
    expect(uneven.tensorParallelSeconds).toBeCloseTo(even.tensorParallelSeconds, 9);
    expect(uneven.computeSeconds).toBeLessThan(even.computeSeconds);
    expect(uneven.computeSeconds / even.computeSeconds).toBeGreaterThan(0.9);
    // The bubble is counted at the slowest stage's time, as for even splits.
    expect(at(llama405b).bubbleFraction).toBeCloseTo(15 / (256 + 15), 12);
  });

  test('uneven stages: the last stage is the slowest when the output layer outweighs the layer it gave up', () => {
    // 10 layers over PP 4 (2 + 3 + 3 + 2) with a vocabulary so large that the output layer costs more than a layer.
    const wide = defineModel({ id: 'wide', name: 'wide', hiddenSize: 1024, ffnHiddenSize: 2048, numLayers: 10,
      numAttentionHeads: 8, numKvHeads: 8, vocabSize: 1_000_000, tiedEmbeddings: false });
    const run4 = (model: typeof wide) => estimateThroughput({ model, layout: { tp: 1, pp: 4, cp: 1, dp: 1, mbs: 1 },
      sequenceLength: 1024, globalBatchSize: 16, fabric: h100 });
    const twoLayersAndOutput = run4(defineModel({ ...wide, numLayers: 8 })); // 2 per stage, output on the last
    expect(run4(wide).breakdown.computeSeconds).toBeCloseTo(twoLayersAndOutput.breakdown.computeSeconds, 9);
  });

  test('a global batch that micro-batch·DP does not divide is refused', () => {
    expect(() => run({ tp: 2, pp: 1, cp: 1, dp: 3, mbs: 1 })).toThrow(/divisible by micro-batch·DP = 3/);
  });
});

describe('published H100 runs (reference/throughput-reference.csv)', () => {
  const runs = publishedRuns();
  const ape = (xs: readonly number[]) => 100 * xs.reduce((s, x) => s + Math.abs(x - 1), 0) / xs.length;

  test('Meta\'s Llama 3 405B BF16 runs, in no fit: MAPE <= 10%, the deep pipeline (PP16) not biased low', () => {
    const meta = runs.filter((r) => !r.fp8);
    expect(meta).toHaveLength(3);
    const ratios = meta.map((r) => predictRun(r) / r.tokensPerSecondPerGpu);
    expect(ape(ratios)).toBeLessThanOrEqual(7); // achieved 5.6%
    for (const ratio of ratios.slice(0, 2)) expect(ratio).toBeGreaterThan(0.95);
  });

  // Every H100 BF16 row no constant was fitted on: 46 grid layouts at 16,384 tokens and Meta's three 405B runs.
  // Achieved: MAPE 9.2%; mean predicted/measured 1.081 for PP <= 2 (46 rows), 0.987 for PP >= 8 (3 rows), 0.094
  // apart. The floors below sit just above (docs/planner.md).
  test('every held-out H100 BF16 run: MAPE <= 10%, and PP >= 8 not biased against PP <= 2', () => {
    const rows = heldOutH100Bf16();
    expect(rows).toHaveLength(49);
    expect(heldOutSummary(rows).mape).toBeLessThanOrEqual(10);
    const shallow = heldOutSummary(rows.filter((r) => r.pp <= 2));
    const deep = heldOutSummary(rows.filter((r) => r.pp >= 8));
    expect([shallow.count, deep.count]).toEqual([46, 3]);
    // Both groups' mean predicted/measured in [0.93, 1.10], and the deep pipelines within 0.11 of the shallow ones.
    for (const group of [shallow, deep]) {
      expect(group.meanRatio).toBeGreaterThanOrEqual(0.93);
      expect(group.meanRatio).toBeLessThanOrEqual(1.1);
    }
    expect(Math.abs(deep.meanRatio - shallow.meanRatio)).toBeLessThanOrEqual(0.11);
  });

  test('the NeMo / Megatron-Bridge FP8 rows: leave-one-out MAPE <= 10%, and the shipped fp8Efficiency is the fit', () => {
    const fp8 = runs.filter((r) => r.fp8);
    expect(fp8).toHaveLength(11);
    expect(ape(leaveOneOut(fp8).map((x) => x.predicted / x.run.tokensPerSecondPerGpu))).toBeLessThanOrEqual(10);
    expect(fitFp8(fp8).fp8Efficiency).toBeCloseTo(FITTED_THROUGHPUT_CONSTANTS.fp8Efficiency, 2);
  });
});

describe('training options the launch maps to flags', () => {
  const llama70b = findModel('llama-3.3-70b');
  const p5 = fabricForInstance(findInstanceType('ml.p5.48xlarge'));
  const base: ThroughputInput = { model: llama70b, layout: { tp: 8, pp: 4, cp: 1, dp: 8, mbs: 1 },
    sequenceLength: 8192, globalBatchSize: 1024, fabric: p5 };
  const run = (options: ThroughputInput['options']) => estimateThroughput({ ...base, options });

  test('tpCommOverlap hides TP traffic behind the GEMMs; the collectives\' latency stays', () => {
    const plain = run({});
    const overlapped = run({ tpCommOverlap: true });
    expect(overlapped.breakdown.tensorParallelSeconds).toBeLessThan(plain.breakdown.tensorParallelSeconds);
    expect(overlapped.breakdown.tensorParallelSeconds).toBeGreaterThan(0);
  });

  test('FP8 speeds up Hopper GEMMs and is refused on Ampere', () => {
    expect(run({ fp8: true }).tflopsPerGpu).toBeGreaterThan(run({}).tflopsPerGpu * 1.2);
    expect(() => estimateThroughput({ ...base, fabric: fabricForInstance(findInstanceType('ml.p4d.24xlarge')),
      options: { fp8: true } })).toThrow(/fp8 needs a Hopper GPU/);
  });

  test('partial recomputation costs between none and full, and needs full granularity', () => {
    const none = run({}).stepSeconds;
    const full = run({ recomputation: Recomputation.FULL }).stepSeconds;
    const some = run({ recomputation: Recomputation.FULL, recomputeNumLayers: 10 }).stepSeconds;
    expect(some).toBeGreaterThan(none);
    expect(some).toBeLessThan(full);
    expect(() => run({ recomputeNumLayers: 10 })).toThrow(/recomputeNumLayers needs recomputation 'full'/);
  });

  test('reducing gradients in bf16 halves the reduce-scatter bytes', () => {
    const wide: ThroughputInput = { ...base, layout: { tp: 1, pp: 1, cp: 1, dp: 256, mbs: 1 }, model: findModel('llama-3.1-8b') };
    const noOverlap = { ...FITTED_THROUGHPUT_CONSTANTS, dpOverlap: 0 };
    const fp32 = estimateThroughput(wide, noOverlap).breakdown.dataParallelSeconds;
    const bf16 = estimateThroughput({ ...wide, options: { gradientReduceInBf16: true } }, noOverlap)
      .breakdown.dataParallelSeconds;
    expect(bf16 / fp32).toBeCloseTo(4 / 6, 6); // (2 + 2) / (4 + 2) bytes per parameter
  });
});
