import { CheckpointEstimate, FsxConfiguration, sizeCheckpoint } from './checkpoint';
import { FsxSizing, sizeFsxByCost } from './fsx-sizing';
import { GoodputEstimate } from './goodput';
import { PlannerInputError, requirePositive, requirePositiveInteger } from './errors';
import { flopsPerToken } from './flops';
import { findInstanceType } from './instances';
import {
  ParallelLayout, pipelineSplit, pipelineSplitText, resolveOptions, ResolvedTrainingOptions, TrainingOptions,
} from './layout';
import { MemoryEstimate } from './memory';
import { ModelArchitecture } from './models';
import { LayoutCandidate, LayoutPin, layoutPinText, searchLayouts } from './search';
import { fabricForInstance } from './throughput';

const GIB = 1024 ** 3;

/**
 * The goodput the planner assumed before it had a model (Meta reported more than 90% effective training time over
 * 54 days of Llama 3 405B on 16K H100s). Plans now compute goodput (see goodput.ts); this stays for callers that
 * compare against it.
 */
export const DEFAULT_GOODPUT = 0.9;

export interface PlanInput {
  readonly model: ModelArchitecture;
  /** HyperPod instance type, e.g. `ml.p5.48xlarge`. */
  readonly instanceType: string;
  readonly nodes: number;
  /** Tokens to train on. */
  readonly tokens: number;
  readonly sequenceLength: number;
  /** Sequences per step. */
  readonly globalBatchSize: number;
  /** Price of one node for one hour, in any currency; without it no cost is given. */
  readonly pricePerNodeHour?: number;
  /**
   * Share of wall-clock time spent training. Given, it replaces the goodput model's result in the days and cost.
   * @default - the goodput model (failures, restarts, checkpoint stalls and write interference; goodput.ts)
   */
  readonly goodput?: number;
  /** @default LLAMA3_FAILURES_PER_NODE_HOUR (1.58e-4) */
  readonly failuresPerNodeHour?: number;
  /** Requeue, node replacement and start before the checkpoint load, minutes. @default DEFAULT_RESTART_MINUTES */
  readonly restartMinutes?: number;
  /** Share training slows while a checkpoint is written. @default DEFAULT_WRITE_INTERFERENCE */
  readonly writeInterference?: number;
  /** @default DEFAULT_STAGING_GBPS_PER_GPU */
  readonly stagingGBpsPerGpu?: number;
  /** @default DEFAULT_STALL_FIXED_SECONDS */
  readonly stallFixedSeconds?: number;
  /** FSx price per GB-month by per-unit throughput. @default DEFAULT_FSX_PRICE_PER_GB_MONTH */
  readonly fsxPricePerGBMonth?: Readonly<Record<number, number>>;
  readonly options?: TrainingOptions;
  /** @default 0.8 */
  readonly memoryThreshold?: number;
  /** @default 16 */
  readonly maxMbs?: number;
  /** @default 8 */
  readonly maxVp?: number;
  /** An existing file system to evaluate checkpoint writes on, TiB. */
  readonly fsxCapacityTiB?: number;
  /** @default 250 */
  readonly fsxPerUnitThroughputMBps?: number;
  /**
   * Time between checkpoints. An asynchronous save must finish writing before the next one starts, so the
   * interval is at least the write time.
   * @default - Young/Daly √(2δM) from the checkpoint cost δ and the mean time between failures M
   */
  readonly checkpointIntervalMinutes?: number;
  /**
   * Checkpoints kept on the file system (the recommended capacity holds them and the tokenized dataset).
   * @default 2
   */
  readonly checkpointsRetained?: number;
  /**
   * Model TFLOP/s per GPU measured for the layout the plan picks (Megatron's non-causal convention, as the
   * throughput probe reports it). Replaces the model's prediction in the speed, step time, days and cost; the
   * prediction stays in `predictedTflopsPerGpu`.
   * @default - the throughput model's prediction
   */
  readonly measuredTflopsPerGpu?: number;
  /**
   * Parallel sizes to keep (e.g. a layout that was measured, or one a launch test pins); the search picks the
   * others. A pin no valid layout that fits can meet is an input error.
   * @default - none: the fastest layout that fits
   */
  readonly pinnedLayout?: LayoutPin;
}

/** A training run: the best layout that fits and what it costs. */
export interface TrainingPlan {
  readonly modelName: string;
  /** The model planned for. */
  readonly model: ModelArchitecture;
  readonly instanceType: string;
  readonly nodes: number;
  readonly gpus: number;
  /** The fastest layout that fits (`vp` set), with the pinned sizes when some were given. */
  readonly layout: ParallelLayout;
  /** The sizes the input pinned, when it pinned any. */
  readonly pinnedLayout?: LayoutPin;
  readonly memory: MemoryEstimate;
  /** threshold × GPU memory. */
  readonly memoryLimitGiB: number;
  /** Tokens to train on. */
  readonly tokens: number;
  readonly sequenceLength: number;
  /** Sequences per step. */
  readonly globalBatchSize: number;
  /** The training settings, defaults applied. */
  readonly options: ResolvedTrainingOptions;
  /** Model TFLOP/s per GPU the plan runs at: the measurement when one was given, else the prediction. */
  readonly tflopsPerGpu: number;
  /** The throughput model's TFLOP/s per GPU for the layout. */
  readonly predictedTflopsPerGpu: number;
  /** The measured TFLOP/s per GPU the plan is based on, when one was given. */
  readonly measuredTflopsPerGpu?: number;
  readonly tokensPerSecondPerGpu: number;
  readonly mfu: number;
  readonly stepSeconds: number;
  readonly steps: number;
  readonly goodput: number;
  /** Wall-clock days, goodput included. */
  readonly days: number;
  readonly gpuHours: number;
  readonly nodeHours: number;
  /** nodeHours × pricePerNodeHour, when a price was given. */
  readonly cost?: number;
  readonly checkpoint: CheckpointEstimate;
  /** Minutes between checkpoints: given, or Young/Daly's (at least the write time). */
  readonly checkpointIntervalMinutes: number;
  /** The goodput model's terms for the chosen file system (`goodput` is its result unless one was given). */
  readonly goodputModel: GoodputEstimate;
  /** The file system chosen by total cost, with one size down and up. */
  readonly fsxSizing: FsxSizing;
  /** Overlap TP communication with GEMMs (`--tp-comm-overlap`); from the options. */
  readonly tpCommOverlap: boolean;
  /** Layers recomputed per stage (`--recompute-num-layers`), when partial recomputation was asked for. */
  readonly recomputeNumLayers?: number;
  /** Checkpoints the file system was sized to hold. */
  readonly checkpointsRetained: number;
  /** The PERSISTENT_2 file system of least total run cost that holds the checkpoints and dataset. */
  readonly recommendedFsx: FsxConfiguration;
  /** Host memory of one node (for the staging buffers of asynchronous checkpoints). */
  readonly hostMemoryGiBPerNode: number;
  /** One line for a stack output. */
  readonly summary: string;
}

/** Picks the fastest layout that fits and turns tokens into days, GPU-hours, cost and storage. */
export function planTraining(input: PlanInput): TrainingPlan {
  validatePlanInput(input);
  const instance = findInstanceType(input.instanceType);
  const fabric = fabricForInstance(instance);
  const gpus = input.nodes * instance.gpusPerNode;
  const best = searchLayouts({
    model: input.model, fabric, totalGpus: gpus, sequenceLength: input.sequenceLength,
    globalBatchSize: input.globalBatchSize, options: input.options, memoryThreshold: input.memoryThreshold,
    maxMbs: input.maxMbs, maxVp: input.maxVp, pin: input.pinnedLayout,
  })[0];
  if (!best) {
    throw noLayoutFits(input.model, gpus, `${fabric.gpu.name} GPUs (${instance.name})`, input.sequenceLength,
      input.pinnedLayout);
  }
  const speed = speedOf(input, best, gpus, fabric.gpu.denseBf16Tflops);
  const steps = Math.ceil(input.tokens / (input.globalBatchSize * input.sequenceLength));
  const checkpoint = sizeCheckpoint({
    model: input.model, gpus, gpusPerNode: instance.gpusPerNode,
    fsxCapacityTiB: input.fsxCapacityTiB, fsxPerUnitThroughputMBps: input.fsxPerUnitThroughputMBps,
    stagingGBpsPerGpu: input.stagingGBpsPerGpu, stallFixedSeconds: input.stallFixedSeconds,
  });
  const checkpointsRetained = input.checkpointsRetained ?? 2;
  const fsxSizing = sizeFsx(input, checkpoint, checkpointsRetained, steps * speed.stepSeconds);
  const goodputModel = fsxSizing.chosen.goodput;
  const goodput = input.goodput ?? goodputModel.goodput;
  const seconds = steps * speed.stepSeconds / goodput;
  const nodeHours = input.nodes * seconds / 3600;
  const options = resolveOptions(input.options);
  const plan = {
    modelName: input.model.name, model: input.model, instanceType: instance.name, nodes: input.nodes, gpus,
    layout: best.layout, pinnedLayout: pinned(input.pinnedLayout), memory: best.memory, memoryLimitGiB: best.verdict.limitGiB,
    tokens: input.tokens, sequenceLength: input.sequenceLength, globalBatchSize: input.globalBatchSize,
    options, tpCommOverlap: options.tpCommOverlap, recomputeNumLayers: options.recomputeNumLayers,
    ...speed, predictedTflopsPerGpu: best.throughput.tflopsPerGpu, measuredTflopsPerGpu: input.measuredTflopsPerGpu,
    steps, goodput, goodputModel, days: seconds / 86400, gpuHours: gpus * seconds / 3600, nodeHours,
    cost: input.pricePerNodeHour === undefined ? undefined : nodeHours * input.pricePerNodeHour,
    checkpoint, checkpointIntervalMinutes: goodputModel.intervalSeconds / 60, checkpointsRetained,
    recommendedFsx: fsxSizing.chosen.fsx, fsxSizing,
    hostMemoryGiBPerNode: instance.hostMemoryGiB,
  };
  return { ...plan, summary: summarise(plan, best) };
}

/** The error `plan` and `search` both give when no layout fits (the CLI exits 2 on it). */
export function noLayoutFits(model: ModelArchitecture, gpus: number, where: string, sequenceLength: number,
  pin?: LayoutPin): PlannerInputError {
  const pinText = pinned(pin) === undefined ? '' : layoutPinText(pin!);
  if (pinText) {
    return new PlannerInputError('layout', `not found: ${model.name} fits no valid layout with ${pinText} of `
      + `${gpus} ${where} at sequence ${sequenceLength}; change or drop the pinned sizes (without them the planner `
      + 'searches every layout)');
  }
  return new PlannerInputError('layout', `not found: ${model.name} fits no valid layout of ${gpus} ${where} at `
    + `sequence ${sequenceLength}; add nodes, pick a larger GPU, enable recomputation or raise the memory threshold`);
}

/** The pin without its unset sizes; undefined when it pins nothing. */
function pinned(pin: LayoutPin | undefined): LayoutPin | undefined {
  const set = Object.entries(pin ?? {}).filter(([, v]) => v !== undefined);
  return set.length === 0 ? undefined : Object.fromEntries(set) as LayoutPin;
}

/**
 * The layout's speed: the throughput model's, or derived from a measured TFLOP/s per GPU with the same FLOPs per
 * token (tokens/s = TFLOP/s / FLOPs per token; step time = tokens per step / (GPUs × tokens/s)).
 */
function speedOf(input: PlanInput, best: LayoutCandidate, gpus: number, peakTflops: number) {
  const measured = input.measuredTflopsPerGpu;
  if (measured === undefined) {
    const t = best.throughput;
    return { tflopsPerGpu: t.tflopsPerGpu, tokensPerSecondPerGpu: t.tokensPerSecondPerGpu, mfu: t.mfu,
      stepSeconds: t.stepSeconds };
  }
  const tokensPerSecondPerGpu = measured * 1e12 / flopsPerToken(input.model, input.sequenceLength);
  return {
    tflopsPerGpu: measured, tokensPerSecondPerGpu, mfu: measured / peakTflops,
    stepSeconds: input.globalBatchSize * input.sequenceLength / (gpus * tokensPerSecondPerGpu),
  };
}

function validatePlanInput(input: PlanInput): void {
  requirePositiveInteger('nodes', input.nodes);
  requirePositive('tokens', input.tokens);
  requirePositiveInteger('globalBatchSize', input.globalBatchSize);
  requirePositiveInteger('sequenceLength', input.sequenceLength);
  if (input.globalBatchSize * input.sequenceLength > input.tokens) {
    throw new PlannerInputError('tokens', `must be at least one step, global batch × sequence = `
      + `${input.globalBatchSize} × ${input.sequenceLength} = ${input.globalBatchSize * input.sequenceLength}, got `
      + `${input.tokens}`);
  }
  const goodput = input.goodput;
  if (goodput !== undefined && !(goodput > 0 && goodput <= 1)) {
    throw new PlannerInputError('goodput', `must be in (0, 1], got ${goodput}`);
  }
  if (input.pricePerNodeHour !== undefined) requirePositive('pricePerNodeHour', input.pricePerNodeHour);
  if (input.measuredTflopsPerGpu !== undefined) {
    requirePositive('measuredTflopsPerGpu', input.measuredTflopsPerGpu);
    const gpu = fabricForInstance(findInstanceType(input.instanceType)).gpu;
    if (input.measuredTflopsPerGpu > gpu.denseBf16Tflops) {
      throw new PlannerInputError('measuredTflopsPerGpu', `cannot exceed the ${gpu.name}'s dense BF16 peak of `
        + `${gpu.denseBf16Tflops} TFLOP/s, got ${input.measuredTflopsPerGpu}`);
    }
  }
}

/**
 * The file system: capacity for the retained checkpoints and the tokenized dataset (Megatron stores token ids as
 * uint16 below a 65,500-token vocabulary, else int32), kept under 80% full; capacity and tier by total run cost
 * (fsx-sizing.ts), or the one given.
 */
function sizeFsx(input: PlanInput, checkpoint: CheckpointEstimate, retained: number, workSeconds: number): FsxSizing {
  requirePositiveInteger('checkpointsRetained', retained);
  if (input.checkpointIntervalMinutes !== undefined) {
    requirePositive('checkpointIntervalMinutes', input.checkpointIntervalMinutes);
  }
  const datasetBytes = input.tokens * (input.model.vocabSize < 65500 ? 2 : 4);
  const dataGiB = (retained * checkpoint.bytes + datasetBytes) / GIB;
  return sizeFsxByCost({
    nodes: input.nodes, failuresPerNodeHour: input.failuresPerNodeHour, stallSeconds: checkpoint.asyncStallSeconds,
    writeInterference: input.writeInterference, restartMinutes: input.restartMinutes,
    intervalSeconds: input.checkpointIntervalMinutes === undefined ? undefined : input.checkpointIntervalMinutes * 60,
    checkpointBytes: checkpoint.bytes, minimumCapacityGiB: dataGiB / 0.8, workSeconds,
    pricePerNodeHour: input.pricePerNodeHour, fsxPricePerGBMonth: input.fsxPricePerGBMonth,
    fixed: input.fsxCapacityTiB === undefined ? undefined
      : { capacityGiB: input.fsxCapacityTiB * 1024, perUnitThroughputMBps: input.fsxPerUnitThroughputMBps ?? 250 },
  });
}

function summarise(plan: Omit<TrainingPlan, 'summary'>, best: LayoutCandidate): string {
  const l = best.layout;
  const split = pipelineSplit(plan.model.numLayers, l.pp);
  const stages = split?.uneven ? ` (${pipelineSplitText(split)} layers)` : '';
  const cost = plan.cost === undefined ? '' : `, cost ${Math.round(plan.cost).toLocaleString('en-US')}`;
  return `${plan.modelName} on ${plan.nodes}x ${plan.instanceType} (${plan.gpus} GPUs): `
    + `TP${l.tp} PP${l.pp}${stages} CP${l.cp} DP${l.dp} mbs${l.mbs} vp${l.vp}, ${plan.memory.totalGiB.toFixed(1)} GiB/GPU, `
    + `${plan.tflopsPerGpu.toFixed(0)} TFLOP/s/GPU${plan.measuredTflopsPerGpu === undefined ? '' : ' (measured)'}, `
    + `goodput ${(plan.goodput * 100).toFixed(1)}%, ${plan.days.toFixed(1)} days, `
    + `${Math.round(plan.gpuHours).toLocaleString('en-US')} GPU-hours${cost}; `
    + `checkpoint ${plan.checkpoint.sizeGB.toFixed(0)} GB, FSx ${plan.recommendedFsx.storageCapacityGiB} GiB `
    + `at ${plan.recommendedFsx.perUnitThroughputMBps} MB/s/TiB`;
}
