import { Align, duration, keyValues, num, pct, table } from './format';
import { ParallelLayout, pipelineSplit, pipelineSplitText, vpOf } from '../planner/layout';
import { MemoryEstimate, MemoryVerdict, memoryVerdict } from '../planner/memory';
import { ModelArchitecture } from '../planner/models';
import { TrainingPlan } from '../planner/plan';
import { LayoutCandidate } from '../planner/search';
import { ClusterFabric, ThroughputEstimate } from '../planner/throughput';
import { PlannedSource } from '../training/data-mixture';

/**
 * The version of the `--json` output of `estimate`, `search` and `plan`, described by cli-output.schema.json. It goes
 * up when a field is removed, renamed or changes type or meaning; a new field keeps it (and joins the schema).
 */
export const JSON_SCHEMA_VERSION = 1;

/** The commands whose `--json` output the schema describes. */
export type JsonCommand = 'estimate' | 'search' | 'plan';

function versioned<T extends object>(command: JsonCommand, body: T) {
  return { schemaVersion: JSON_SCHEMA_VERSION, command, ...body };
}

/** Everything `estimate` prints. */
export interface EstimateReport {
  readonly model: ModelArchitecture;
  readonly fabric: ClusterFabric;
  readonly layout: ParallelLayout;
  readonly sequenceLength: number;
  readonly globalBatchSize: number;
  readonly memory: MemoryEstimate;
  readonly verdict: MemoryVerdict;
  readonly fits80: boolean;
  readonly throughput: ThroughputEstimate;
}

/** `TP8 PP16 CP1 DP8 mbs1 vp1`, with the layers of each stage when they are uneven. */
function layoutText(l: ParallelLayout, model: ModelArchitecture): string {
  const stages = unevenStagesText(l, model);
  return `TP${l.tp} PP${l.pp} CP${l.cp} DP${l.dp} mbs${l.mbs} vp${vpOf(l)}${stages ? ` ${stages}` : ''}`;
}

/** `(stages of 7 + 14×8 + 7 layers)` when PP does not divide the layers, else empty. */
function unevenStagesText(l: ParallelLayout, model: ModelArchitecture): string {
  const split = pipelineSplit(model.numLayers, l.pp);
  return split?.uneven ? `(stages of ${pipelineSplitText(split)} layers)` : '';
}

function layoutJson(l: ParallelLayout) {
  return { tp: l.tp, pp: l.pp, cp: l.cp, dp: l.dp, mbs: l.mbs, vp: vpOf(l) };
}

/** Layers of the first, each middle and the last pipeline stage. */
function stageLayersJson(model: ModelArchitecture, l: ParallelLayout) {
  const split = pipelineSplit(model.numLayers, l.pp);
  return split ? { first: split.first, middle: split.middle, last: split.last } : undefined;
}

function memoryJson(m: MemoryEstimate) {
  return {
    weights: m.weightsGiB, gradients: m.gradientsGiB, optimizerStates: m.optimizerStatesGiB,
    weightsGradientsOptimizer: m.weightsGradientsOptimizerGiB, activations: m.activationsGiB, total: m.totalGiB,
  };
}

export function estimateJson(r: EstimateReport) {
  return versioned('estimate', {
    model: r.model.id, gpu: r.fabric.gpu.type, gpusPerNode: r.fabric.gpusPerNode,
    gpus: r.layout.tp * r.layout.pp * r.layout.cp * r.layout.dp, layout: layoutJson(r.layout),
    stageLayers: stageLayersJson(r.model, r.layout), mostLoadedStage: r.memory.stage,
    sequenceLength: r.sequenceLength, globalBatchSize: r.globalBatchSize,
    memoryGiB: memoryJson(r.memory), gpuMemoryGB: r.fabric.gpu.memoryGB, threshold: r.verdict.threshold,
    fits: r.verdict.fits, fits80: r.fits80,
    tflopsPerGpu: r.throughput.tflopsPerGpu, tokensPerSecondPerGpu: r.throughput.tokensPerSecondPerGpu,
    mfu: r.throughput.mfu, stepSeconds: r.throughput.stepSeconds, bubbleFraction: r.throughput.bubbleFraction,
  });
}

export function renderEstimate(r: EstimateReport): string {
  const m = r.memory;
  const t = r.throughput;
  const gpus = r.layout.tp * r.layout.pp * r.layout.cp * r.layout.dp;
  const verdict = `${pct(r.verdict.usedFraction, 0)} of ${r.fabric.gpu.memoryGB} GB; `
    + `${r.verdict.fits ? 'fits' : 'does NOT fit'} under ${pct(r.verdict.threshold, 0)} = ${num(r.verdict.limitGiB, 1)} GiB`;
  return [
    `${r.model.name} on ${gpus}x ${r.fabric.gpu.name} (${r.fabric.gpusPerNode} per node), `
      + `${layoutText(r.layout, r.model)}, sequence ${r.sequenceLength}, global batch ${r.globalBatchSize}`,
    '',
    pipelineSplit(r.model.numLayers, r.layout.pp)?.uneven
      ? `Memory of the most-loaded GPU (pipeline stage ${m.stage + 1} of ${r.layout.pp}: ${m.stageLayers} layers)`
      : 'Memory of the most-loaded GPU',
    keyValues([
      ['weights (bf16)', num(m.weightsGiB, 2), 'GiB'],
      ['gradients', num(m.gradientsGiB, 2), 'GiB'],
      ['optimizer states', num(m.optimizerStatesGiB, 2), 'GiB'],
      ['activations', num(m.activationsGiB, 2), 'GiB'],
      ['total', num(m.totalGiB, 2), `GiB  (${verdict})`],
    ]),
    '',
    'Predicted speed (Megatron model FLOPs, non-causal attention)',
    keyValues([
      ['per GPU', num(t.tflopsPerGpu, 1), `TFLOP/s  (MFU ${pct(t.mfu)})`],
      ['per GPU', num(t.tokensPerSecondPerGpu, 0), 'tokens/s'],
      ['step time', num(t.stepSeconds, 2), `s  (${num(t.microBatchesPerStep)} micro-batches)`],
      ['pipeline bubble', pct(t.bubbleFraction), ''],
    ]),
  ].join('\n');
}

/** What `search` searched: the model, the GPUs and the batch. */
export interface SearchReport {
  readonly model: ModelArchitecture;
  readonly fabric: ClusterFabric;
  readonly gpus: number;
  readonly sequenceLength: number;
  readonly globalBatchSize: number;
  readonly threshold: number;
  /** Every layout found (those that fit, and with --all the others). */
  readonly found: number;
  /** The layouts shown (--top). */
  readonly shown: readonly LayoutCandidate[];
}

export function searchJson(r: SearchReport) {
  return versioned('search', {
    model: r.model.id, gpu: r.fabric.gpu.type, gpusPerNode: r.fabric.gpusPerNode, gpus: r.gpus,
    sequenceLength: r.sequenceLength, globalBatchSize: r.globalBatchSize, threshold: r.threshold,
    layoutsFound: r.found,
    layouts: r.shown.map((c) => ({
      ...layoutJson(c.layout),
      stageLayers: stageLayersJson(r.model, c.layout),
      memoryGiB: memoryJson(c.memory),
      fits: c.verdict.fits,
      fits80: memoryVerdict(c.memory.totalGiB, r.fabric.gpu).fits,
      tflopsPerGpu: c.throughput.tflopsPerGpu,
      tokensPerSecondPerGpu: c.throughput.tokensPerSecondPerGpu,
      stepSeconds: c.throughput.stepSeconds,
    })),
  });
}

/** The plan as the library returns it, with the data mixture when there is one. */
export function planJson(plan: TrainingPlan, dataMixture: readonly PlannedSource[] | undefined) {
  return versioned('plan', dataMixture === undefined ? plan : { ...plan, dataMixture });
}

export function renderSearch(model: ModelArchitecture, fabric: ClusterFabric, shown: readonly LayoutCandidate[],
  total: number): string {
  const title = `${model.name} on ${fabric.gpu.name} (${fabric.gpusPerNode} per node): `
    + `${total} layout(s), showing ${shown.length}: those that fit fastest first, then the others least memory first`;
  const uneven = new Map<number, string>();
  for (const { layout: { pp } } of shown) {
    const split = pipelineSplit(model.numLayers, pp);
    if (split?.uneven) uneven.set(pp, pipelineSplitText(split));
  }
  const rows = shown.map((c, i) => [
    String(i + 1), String(c.layout.tp), `${c.layout.pp}${uneven.has(c.layout.pp) ? '*' : ''}`, String(c.layout.cp),
    String(c.layout.dp),
    String(c.layout.mbs), String(vpOf(c.layout)), num(c.memory.totalGiB, 1), c.verdict.fits ? 'yes' : 'no',
    num(c.throughput.tflopsPerGpu, 1), num(c.throughput.tokensPerSecondPerGpu, 0), pct(c.throughput.bubbleFraction),
  ]);
  const header = ['#', 'TP', 'PP', 'CP', 'DP', 'mbs', 'vp', 'mem GiB', 'fits', 'TFLOP/s/GPU', 'tok/s/GPU', 'bubble'];
  const align = header.map((_, i) => (i === 8 ? Align.LEFT : Align.RIGHT));
  const note = uneven.size === 0 ? ''
    : `\n* uneven pipeline stages, layers of the first + middle + last: ${[...uneven].sort((a, b) => a[0] - b[0])
      .map(([pp, text]) => `PP${pp} ${text}`).join('; ')}`;
  return `${title}\n\n${table([header, ...rows], align)}${note}`;
}

export function renderPlan(p: TrainingPlan): string {
  const c = p.checkpoint;
  const fsx = p.recommendedFsx;
  const rows: Array<[string, string, string?]> = [
    ['layout', `TP${p.layout.tp} PP${p.layout.pp} CP${p.layout.cp} DP${p.layout.dp} mbs${p.layout.mbs} `
      + `vp${vpOf(p.layout)}`, unevenStagesText(p.layout, p.model)],
    ['memory per GPU', num(p.memory.totalGiB, 1), `GiB (limit ${num(p.memoryLimitGiB, 1)} GiB)`],
    ['speed per GPU', num(p.tflopsPerGpu, 1), `TFLOP/s (MFU ${pct(p.mfu)})`],
    ['tokens per GPU', num(p.tokensPerSecondPerGpu, 0), 'tokens/s'],
    ['step time', num(p.stepSeconds, 2), `s x ${num(p.steps)} steps`],
    ...goodputRows(p),
    ['duration', num(p.days, 1), 'days'],
    ['GPU-hours', num(p.gpuHours), ''],
    ['node-hours', num(p.nodeHours), ''],
  ];
  if (p.cost !== undefined) rows.push(['cost', num(p.cost), '(price per node-hour x node-hours)']);
  rows.push(
    ['checkpoint', num(c.sizeGB, 0), `GB (${num(c.bytesPerGpu / 1e9, 2)} GB per GPU)`],
    ['async stall', duration(c.asyncStallSeconds), `(host staging ${num(c.hostStagingGiBPerNode, 1)} of `
      + `${num(p.hostMemoryGiBPerNode)} GiB per node)`],
  );
  if (c.fsxThroughputMBps > 0) {
    rows.push(['sync write', duration(c.writeSeconds), `at ${num(c.fsxThroughputMBps)} MB/s (given FSx)`]);
  }
  rows.push(...fsxRows(p));
  void fsx;
  return `${p.modelName} on ${p.nodes}x ${p.instanceType} (${p.gpus} GPUs)\n\n${keyValues(rows)}\n\n${p.summary}`;
}

function goodputRows(p: TrainingPlan): Array<[string, string, string?]> {
  const g = p.goodputModel;
  const given = p.goodput !== g.goodput;
  return [
    ['failures', num(g.failuresPerHour * 24, 2), `per day (one every ${num(g.meanTimeBetweenFailuresHours, 0)} h)`],
    ['checkpoint every', `${num(g.intervalSeconds / 60, Number.isInteger(g.intervalSeconds / 60) ? 0 : 1)} min`,
      g.youngDaly ? '(Young/Daly, whole minutes)' : '(given, or the write time rounded up)'],
    ['checkpoint cost', duration(g.checkpointCostSeconds), `(stall ${duration(g.stallSeconds)} + interference `
      + `${duration(g.interferenceSeconds)} during a ${duration(g.writeSeconds)} write)`],
    ['restart cost', duration(g.restartSeconds), `(requeue and start + reload ${duration(g.loadSeconds)})`],
    ['lost', pct(g.lostToCheckpoints + g.lostToRestarts + g.lostToRework, 2), `(checkpoints ${pct(g.lostToCheckpoints, 2)}`
      + `, restarts ${pct(g.lostToRestarts, 2)}, rework ${pct(g.lostToRework, 2)})`],
    ['goodput', pct(p.goodput, 1), given ? `(given; the model gives ${pct(g.goodput, 1)})`
      : 'of wall-clock time spent training'],
  ];
}

function fsxRows(p: TrainingPlan): Array<[string, string, string?]> {
  const s = p.fsxSizing;
  const line = (o: typeof s.chosen) => `${num(o.fsx.storageCapacityGiB)} GiB at ${o.fsx.perUnitThroughputMBps} MB/s/TiB`;
  const terms = (o: typeof s.chosen) => `write ${duration(o.writeSeconds)}, reload ${duration(o.reloadSeconds)}, `
    + `FSx ${num(o.fsxCost)} + lost GPU time ${num(o.lostGpuCost)} = ${num(o.totalCost)}`;
  const rows: Array<[string, string, string?]> = [
    ['FSx (least run cost)', line(s.chosen), `= ${num(s.chosen.fsx.throughputMBps)} MB/s; ${terms(s.chosen)}`],
  ];
  if (s.smaller) rows.push(['  one size down', line(s.smaller), terms(s.smaller)]);
  if (s.larger) rows.push(['  one size up', line(s.larger), terms(s.larger)]);
  return rows;
}
