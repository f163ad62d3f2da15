import { requirePositive } from './errors';
import { GpuSpec } from '../catalog/gpus';
import {
  ParallelLayout, pipelineSplit, PipelineSplit, recomputedShare, resolveOptions, ResolvedTrainingOptions,
  TrainingOptions, vpOf,
} from './layout';
import { effectiveVocabSize, ModelArchitecture, transformerLayerParameters } from './models';

/*
 * The published memory-estimation method for Megatron-LM 4D parallelism (Fujii, Watanabe, Yokota, arXiv
 * 2411.06465, and the first author's `theoretical_memory_usage.py`): static memory of the most-loaded GPU (the
 * first pipeline stage) plus its activations, in GiB. NCCL buffers, the CUDA context and fragmentation are not
 * modelled; the 80% rule absorbs them.
 *
 * Uneven pipeline stages (PP not dividing the layers; see pipelineSplit) are an extension of the method: every
 * stage is estimated the same way and the largest is reported (see stageMemory).
 */

const GIB = 1024 ** 3;

/** The published rule: an estimate below 80% of the GPU's memory never ran out of memory in 454 runs. */
export const DEFAULT_MEMORY_THRESHOLD = 0.8;

export interface MemoryInput {
  readonly model: ModelArchitecture;
  readonly layout: ParallelLayout;
  readonly sequenceLength: number;
  /**
   * With fewer micro-batches per step than pipeline stages, fewer are in flight (non-interleaved schedule).
   * @default no cap (PP micro-batches in flight), as in the published expected values
   */
  readonly globalBatchSize?: number;
  readonly options?: TrainingOptions;
}

/** Memory of the most-loaded GPU. */
export interface MemoryEstimate {
  /** Parameters held by the most-loaded GPU. */
  readonly parametersOnGpu: number;
  /** bf16 weights, 2 bytes per parameter. */
  readonly weightsGiB: number;
  /** Gradients, 4 bytes per parameter with fp32 accumulation, else 2. */
  readonly gradientsGiB: number;
  /** fp32 master weights and Adam m, v: 12 bytes per parameter, sharded over DP·CP with the distributed optimizer. */
  readonly optimizerStatesGiB: number;
  /** weights + gradients + optimizer states. */
  readonly weightsGradientsOptimizerGiB: number;
  readonly activationsGiB: number;
  readonly totalGiB: number;
  /** Pipeline stage of the most-loaded GPU, from 0 (the first stage whenever PP divides the layers). */
  readonly stage: number;
  /** Transformer layers that stage holds. */
  readonly stageLayers: number;
}

/** Memory of the most-loaded GPU for a layout. */
export function estimateMemory(input: MemoryInput): MemoryEstimate {
  const options = resolveOptions(input.options);
  const { model, layout } = input;
  const split = pipelineSplit(model.numLayers, layout.pp);
  if (!split?.uneven) {
    // The published method: the first stage is the most-loaded GPU.
    return breakdown(input, options, parametersOnMostLoadedGpu(model, layout, options),
      activationBytes(input, options), 0, model.numLayers / layout.pp);
  }
  // Uneven stages: the first stage has the embedding and PP micro-batches in flight but fewer layers; the second
  // has more layers and PP − 1 in flight; the last has the output layer and loss with one in flight. The later
  // middle stages hold as many layers with fewer micro-batches, so these three bound every stage.
  const candidates = [0, 1, split.stages - 1].map((stage) => {
    const layers = stageLayerCount(split, stage);
    return breakdown(input, options, stageParameters(model, layout, options, split, stage),
      stageActivationBytes(input, options, split, stage), stage, layers);
  });
  return candidates.reduce((a, b) => (b.totalGiB > a.totalGiB ? b : a));
}

function breakdown(input: MemoryInput, options: ResolvedTrainingOptions, params: number, activationBytes_: number,
  stage: number, stageLayers: number): MemoryEstimate {
  const { dp, cp } = input.layout;
  const weights = params * 2 / GIB;
  const gradients = params * (options.fp32GradientAccumulation ? 4 : 2) / GIB;
  const optimizer = params * (options.distributedOptimizer ? 12 / (dp * cp) : 12) / GIB;
  const activations = activationBytes_ / GIB;
  const static_ = weights + gradients + optimizer;
  return {
    parametersOnGpu: params,
    weightsGiB: weights,
    gradientsGiB: gradients,
    optimizerStatesGiB: optimizer,
    weightsGradientsOptimizerGiB: static_,
    activationsGiB: activations,
    totalGiB: static_ + activations,
    stage,
    stageLayers,
  };
}

function stageLayerCount(split: PipelineSplit, stage: number): number {
  if (stage === 0) return split.first;
  return stage === split.stages - 1 ? split.last : split.middle;
}

/**
 * Parameters of the most-loaded GPU. PP dividing the layers: the first stage holds 1/PP of the layers and the input
 * embedding, all split by TP: `[(P_layers − h)/p + h·V] / t`; with one stage it also holds the untied output layer
 * and the final norm. Uneven stages: the largest of the stages' parameters (see stageParameters).
 */
export function parametersOnMostLoadedGpu(model: ModelArchitecture, layout: ParallelLayout,
  options: ResolvedTrainingOptions = resolveOptions()): number {
  const split = pipelineSplit(model.numLayers, layout.pp);
  if (split?.uneven) {
    return Math.max(...[0, 1, split.stages - 1].map((s) => stageParameters(model, layout, options, split, s)));
  }
  const h = model.hiddenSize;
  const embedding = h * effectiveVocabSize(model, layout.tp, options.padVocabulary);
  let shard = ((transformerLayerParameters(model) - h) / layout.pp + embedding) / layout.tp;
  if (layout.pp === 1 && !model.tiedEmbeddings) shard += embedding / layout.tp + h;
  return shard;
}

/**
 * Parameters of one stage of an uneven split: its layers' share of `P_layers − h` and, on the first stage, the input
 * embedding, split by TP; the last stage also holds the output layer (an untied matrix, or the copy of the tied
 * embedding Megatron keeps there) split by TP and the final norm. The first stage's formula is the published one
 * with its own layer count in place of L/PP.
 */
function stageParameters(model: ModelArchitecture, layout: ParallelLayout, options: ResolvedTrainingOptions,
  split: PipelineSplit, stage: number): number {
  const h = model.hiddenSize;
  const embedding = h * effectiveVocabSize(model, layout.tp, options.padVocabulary);
  const layers = (transformerLayerParameters(model) - h) * stageLayerCount(split, stage) / model.numLayers;
  let shard = (layers + (stage === 0 ? embedding : 0)) / layout.tp;
  if (stage === split.stages - 1) shard += embedding / layout.tp + h;
  return shard;
}

/**
 * Activation bytes of one stage of an uneven split (non-interleaved 1F1B: stage i keeps PP − i micro-batches in
 * flight, at most the micro-batches of a step). The published first-stage terms with the stage's own layers and
 * micro-batches in flight: layers × in flight × per-layer bytes, one layer's working set with full recomputation,
 * on the first stage the embedding input; on the last stage the output layer's input and the fp32 loss of one
 * micro-batch (the published term for one stage). With interleaving (the pinned Megatron-LM allows it when VP
 * divides each stage's layers) the published interleaving factor is applied to each stage as for even splits: an
 * approximation, as the published method covers even splits only.
 */
function stageActivationBytes(input: MemoryInput, options: ResolvedTrainingOptions, split: PipelineSplit,
  stage: number): number {
  const { model, layout } = input;
  const { tp, pp } = layout;
  const v = vpOf(layout);
  const h = model.hiddenSize;
  const tokens = (input.sequenceLength / layout.cp) * layout.mbs;
  const inFlight = pp - stage;
  const share = recomputedShare(options, stageLayerCount(split, stage) / v);
  let bytes = inFlight * stageLayerCount(split, stage) * keptPerLayer(model, tokens, share) / tp;
  if (share > 0) bytes += layerActivationBytes(model, tokens) / tp;
  if (stage === 0) bytes += 8 * tokens * h * inFlight / tp;
  if (v > 1) bytes *= 1 + (pp - 1) / (pp * v);
  else if (input.globalBatchSize !== undefined) {
    const microBatches = input.globalBatchSize / (layout.mbs * layout.dp);
    bytes *= Math.min(1, microBatches / inFlight);
  }
  if (stage === pp - 1) {
    const vocab = effectiveVocabSize(model, tp, options.padVocabulary);
    bytes += 4 * tokens * h * (1 + vocab / h) / tp;
  }
  return bytes;
}

/** Bytes of activations one transformer layer keeps per micro-batch, before the TP split (paper's Eq. 12). */
function layerActivationBytes(model: ModelArchitecture, tokens: number): number {
  const h = model.hiddenSize;
  const kvRatio = model.numKvHeads / model.numAttentionHeads;
  return tokens * h * (12 + 4 * kvRatio + 8 * model.ffnHiddenSize / h);
}

/** Activation bytes of the first pipeline stage (flash attention, sequence parallelism), PP dividing the layers. */
function activationBytes(input: MemoryInput, options: ResolvedTrainingOptions): number {
  const { model, layout } = input;
  const { tp, pp } = layout;
  const v = vpOf(layout);
  const h = model.hiddenSize;
  // Context parallelism splits the sequence; micro-batch and local sequence only appear as their product.
  const tokens = (input.sequenceLength / layout.cp) * layout.mbs;
  // PP micro-batches of L/PP layers are in flight on the first stage: L layers' worth.
  const share = recomputedShare(options, model.numLayers / (pp * v));
  let bytes = model.numLayers * keptPerLayer(model, tokens, share) / tp;
  if (share > 0) bytes += layerActivationBytes(model, tokens) / tp;
  bytes += 8 * tokens * h * pp / tp; // embedding input, PP micro-batches in flight
  if (v > 1) bytes *= 1 + (pp - 1) / (pp * v);
  else if (pp > 1 && input.globalBatchSize !== undefined) {
    const microBatches = input.globalBatchSize / (layout.mbs * layout.dp);
    bytes *= Math.min(1, microBatches / pp);
  }
  if (pp === 1) {
    const vocab = effectiveVocabSize(model, tp, options.padVocabulary);
    bytes += 4 * tokens * h * (1 + vocab / h) / tp; // output layer input and fp32 cross-entropy
  }
  return bytes;
}

/**
 * What each layer keeps for its backward pass, on average over a stage where `recomputed` of the layers recompute.
 * Selective recomputation recomputes core attention, which flash attention already does not store, so it keeps the
 * same as none (share 0); a fully recomputed layer keeps its input (2 bytes × tokens × h).
 */
function keptPerLayer(model: ModelArchitecture, tokens: number, recomputed: number): number {
  if (recomputed === 1) return 2 * tokens * model.hiddenSize;
  if (recomputed === 0) return layerActivationBytes(model, tokens);
  return recomputed * 2 * tokens * model.hiddenSize + (1 - recomputed) * layerActivationBytes(model, tokens);
}

/** Whether an estimate fits a GPU by the threshold rule. */
export interface MemoryVerdict {
  readonly fits: boolean;
  /** threshold × the GPU's memory. */
  readonly limitGiB: number;
  /** Estimate divided by the GPU's memory. */
  readonly usedFraction: number;
  readonly threshold: number;
}

/** The published rule: accept when `total <= threshold × GPU memory` (threshold 0.8 by default). */
export function memoryVerdict(totalGiB: number, gpu: GpuSpec,
  threshold: number = DEFAULT_MEMORY_THRESHOLD): MemoryVerdict {
  requirePositive('memoryThreshold', threshold);
  const limitGiB = threshold * gpu.memoryGB;
  return { fits: totalGiB <= limitGiB, limitGiB, usedFraction: totalGiB / gpu.memoryGB, threshold };
}
