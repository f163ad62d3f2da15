import { requirePositive } from './errors';
import { GpuSpec } from './gpus';
import {
  ParallelLayout, Recomputation, resolveOptions, ResolvedTrainingOptions, TrainingOptions, vpOf,
} from './layout';
import { effectiveVocabSize, ModelArchitecture, transformerLayerParameters } from './models';

/*
 * The published memory-estimation method for Megatron-LM 4D parallelism (Fujii, Watanabe, Yokota, arXiv
 * 2411.06465, and the first author's `theoretical_memory_usage.py`): static memory of the most-loaded GPU (the
 * first pipeline stage) plus its activations, in GiB. NCCL buffers, the CUDA context and fragmentation are not
 * modelled; the 80% rule absorbs them.
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
}

/** Memory of the most-loaded GPU for a layout. */
export function estimateMemory(input: MemoryInput): MemoryEstimate {
  const options = resolveOptions(input.options);
  const params = parametersOnMostLoadedGpu(input.model, input.layout, options);
  const { dp, cp } = input.layout;
  const weights = params * 2 / GIB;
  const gradients = params * (options.fp32GradientAccumulation ? 4 : 2) / GIB;
  const optimizer = params * (options.distributedOptimizer ? 12 / (dp * cp) : 12) / GIB;
  const activations = activationBytes(input, options) / GIB;
  const static_ = weights + gradients + optimizer;
  return {
    parametersOnGpu: params,
    weightsGiB: weights,
    gradientsGiB: gradients,
    optimizerStatesGiB: optimizer,
    weightsGradientsOptimizerGiB: static_,
    activationsGiB: activations,
    totalGiB: static_ + activations,
  };
}

/**
 * The first stage holds 1/PP of the layers and the input embedding, all split by TP:
 * `[(P_layers − h)/p + h·V] / t`; with one stage it also holds the untied output layer and the final norm.
 */
export function parametersOnMostLoadedGpu(model: ModelArchitecture, layout: ParallelLayout,
  options: ResolvedTrainingOptions = resolveOptions()): number {
  const h = model.hiddenSize;
  const embedding = h * effectiveVocabSize(model, layout.tp, options.padVocabulary);
  let shard = ((transformerLayerParameters(model) - h) / layout.pp + embedding) / layout.tp;
  if (layout.pp === 1 && !model.tiedEmbeddings) shard += embedding / layout.tp + h;
  return shard;
}

/** Bytes of activations one transformer layer keeps per micro-batch, before the TP split (paper's Eq. 12). */
function layerActivationBytes(model: ModelArchitecture, tokens: number): number {
  const h = model.hiddenSize;
  const kvRatio = model.numKvHeads / model.numAttentionHeads;
  return tokens * h * (12 + 4 * kvRatio + 8 * model.ffnHiddenSize / h);
}

/** Activation bytes of the first pipeline stage (flash attention, sequence parallelism). */
function activationBytes(input: MemoryInput, options: ResolvedTrainingOptions): number {
  const { model, layout } = input;
  const { tp, pp } = layout;
  const v = vpOf(layout);
  const h = model.hiddenSize;
  // Context parallelism splits the sequence; micro-batch and local sequence only appear as their product.
  const tokens = (input.sequenceLength / layout.cp) * layout.mbs;
  // PP micro-batches of L/PP layers are in flight on the first stage: L layers' worth.
  let bytes = model.numLayers * keptPerLayer(model, tokens, options.recomputation) / tp;
  if (options.recomputation === Recomputation.FULL) bytes += layerActivationBytes(model, tokens) / tp;
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
 * What each layer keeps for its backward pass. Selective recomputation recomputes core attention, which flash
 * attention already does not store, so it keeps the same as none; full recomputation keeps the layer input.
 */
function keptPerLayer(model: ModelArchitecture, tokens: number, recomputation: Recomputation): number {
  if (recomputation === Recomputation.FULL) return 2 * tokens * model.hiddenSize;
  return layerActivationBytes(model, tokens);
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
