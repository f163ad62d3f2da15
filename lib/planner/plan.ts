import { CheckpointEstimate, FsxConfiguration, sizeCheckpoint, smallestFsxFor } from './checkpoint';
import { PlannerInputError, requirePositive, requirePositiveInteger } from './errors';
import { findInstanceType } from './instances';
import { ParallelLayout, TrainingOptions } from './layout';
import { MemoryEstimate } from './memory';
import { ModelArchitecture } from './models';
import { LayoutCandidate, searchLayouts } from './search';
import { fabricForInstance } from './throughput';

const GIB = 1024 ** 3;

/**
 * Share of wall-clock time spent training, the rest lost to failures, restarts and checkpoint stalls. Meta
 * reported more than 90% effective training time over 54 days of Llama 3 405B pre-training on 16K H100s.
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
  /** @default DEFAULT_GOODPUT */
  readonly goodput?: number;
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
   * recommended file system writes one checkpoint within this interval.
   * @default 30
   */
  readonly checkpointIntervalMinutes?: number;
  /**
   * Checkpoints kept on the file system (the recommended capacity holds them and the tokenized dataset).
   * @default 2
   */
  readonly checkpointsRetained?: number;
}

/** A training run: the best layout that fits and what it costs. */
export interface TrainingPlan {
  readonly modelName: string;
  readonly instanceType: string;
  readonly nodes: number;
  readonly gpus: number;
  /** The fastest layout that fits (`vp` set). */
  readonly layout: ParallelLayout;
  readonly memory: MemoryEstimate;
  /** threshold × GPU memory. */
  readonly memoryLimitGiB: number;
  readonly tflopsPerGpu: number;
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
  /** Smallest PERSISTENT_2 file system for the checkpoints and dataset. */
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
    maxMbs: input.maxMbs, maxVp: input.maxVp,
  })[0];
  if (!best) {
    throw new PlannerInputError('layout', `not found: ${input.model.name} fits no valid layout of ${gpus} `
      + `${fabric.gpu.name} GPUs (${instance.name}) at sequence ${input.sequenceLength}; add nodes, pick a larger `
      + 'GPU, enable recomputation or raise the memory threshold');
  }
  const goodput = input.goodput ?? DEFAULT_GOODPUT;
  const steps = Math.ceil(input.tokens / (input.globalBatchSize * input.sequenceLength));
  const seconds = steps * best.throughput.stepSeconds / goodput;
  const checkpoint = sizeCheckpoint({
    model: input.model, gpus, gpusPerNode: instance.gpusPerNode,
    fsxCapacityTiB: input.fsxCapacityTiB, fsxPerUnitThroughputMBps: input.fsxPerUnitThroughputMBps,
  });
  const recommendedFsx = recommendFsx(input, checkpoint);
  const nodeHours = input.nodes * seconds / 3600;
  const plan = {
    modelName: input.model.name, instanceType: instance.name, nodes: input.nodes, gpus,
    layout: best.layout, memory: best.memory, memoryLimitGiB: best.verdict.limitGiB,
    tflopsPerGpu: best.throughput.tflopsPerGpu, tokensPerSecondPerGpu: best.throughput.tokensPerSecondPerGpu,
    mfu: best.throughput.mfu, stepSeconds: best.throughput.stepSeconds, steps, goodput,
    days: seconds / 86400, gpuHours: gpus * seconds / 3600, nodeHours,
    cost: input.pricePerNodeHour === undefined ? undefined : nodeHours * input.pricePerNodeHour,
    checkpoint, recommendedFsx, hostMemoryGiBPerNode: instance.hostMemoryGiB,
  };
  return { ...plan, summary: summarise(plan, best) };
}

function validatePlanInput(input: PlanInput): void {
  requirePositiveInteger('nodes', input.nodes);
  requirePositive('tokens', input.tokens);
  const goodput = input.goodput ?? DEFAULT_GOODPUT;
  if (!(goodput > 0 && goodput <= 1)) {
    throw new PlannerInputError('goodput', `must be in (0, 1], got ${goodput}`);
  }
  if (input.pricePerNodeHour !== undefined) requirePositive('pricePerNodeHour', input.pricePerNodeHour);
}

/**
 * Capacity for the retained checkpoints and the tokenized dataset (Megatron stores token ids as uint16 below a
 * 65,500-token vocabulary, else int32), kept under 80% full; throughput to write a checkpoint within the interval.
 */
function recommendFsx(input: PlanInput, checkpoint: CheckpointEstimate): FsxConfiguration {
  const retained = input.checkpointsRetained ?? 2;
  requirePositiveInteger('checkpointsRetained', retained);
  const intervalMinutes = input.checkpointIntervalMinutes ?? 30;
  requirePositive('checkpointIntervalMinutes', intervalMinutes);
  const datasetBytes = input.tokens * (input.model.vocabSize < 65500 ? 2 : 4);
  const dataGiB = (retained * checkpoint.bytes + datasetBytes) / GIB;
  return smallestFsxFor({
    checkpointBytes: checkpoint.bytes, withinSeconds: intervalMinutes * 60, minimumCapacityGiB: dataGiB / 0.8,
  });
}

function summarise(plan: Omit<TrainingPlan, 'summary'>, best: LayoutCandidate): string {
  const l = best.layout;
  const cost = plan.cost === undefined ? '' : `, cost ${Math.round(plan.cost).toLocaleString('en-US')}`;
  return `${plan.modelName} on ${plan.nodes}x ${plan.instanceType} (${plan.gpus} GPUs): `
    + `TP${l.tp} PP${l.pp} CP${l.cp} DP${l.dp} mbs${l.mbs} vp${l.vp}, ${plan.memory.totalGiB.toFixed(1)} GiB/GPU, `
    + `${plan.tflopsPerGpu.toFixed(0)} TFLOP/s/GPU, ${plan.days.toFixed(1)} days, `
    + `${Math.round(plan.gpuHours).toLocaleString('en-US')} GPU-hours${cost}; `
    + `checkpoint ${plan.checkpoint.sizeGB.toFixed(0)} GB, FSx ${plan.recommendedFsx.storageCapacityGiB} GiB `
    + `at ${plan.recommendedFsx.perUnitThroughputMBps} MB/s/TiB`;
}
