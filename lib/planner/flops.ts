import { ModelArchitecture } from './models';

/**
 * Training FLOPs per token (forward + backward) by Megatron-LM's `num_floating_point_operations`:
 * `12·L·h²·[(1 + k/a + s/h) + (f/h)·3/2 + V/(2·L·h)]` = 6·N_matmul + 12·L·h·s.
 *
 * Convention: NON-CAUSAL attention (the full s² score matrix is counted), as Megatron's `--log-throughput` and the
 * Llama-3.1-8B grid report it. Newer NVIDIA tables subtract the causal half (6·L·h·s); numbers in that convention
 * are lower for the same run.
 */
export function flopsPerToken(model: ModelArchitecture, sequenceLength: number): number {
  const h = model.hiddenSize;
  const L = model.numLayers;
  const kvRatio = model.numKvHeads / model.numAttentionHeads;
  return 12 * L * h * h * ((1 + kvRatio + sequenceLength / h) + (model.ffnHiddenSize / h) * 1.5
    + model.vocabSize / (2 * L * h));
}

/** The matrix-multiply FLOPs of one layer per token (projections and MLP), the compute-bound part. */
export function layerGemmFlopsPerToken(model: ModelArchitecture): number {
  const h = model.hiddenSize;
  const kvRatio = model.numKvHeads / model.numAttentionHeads;
  return 12 * h * h * ((1 + kvRatio) + (model.ffnHiddenSize / h) * 1.5);
}

/** The attention-score FLOPs of one layer per token (Q·Kᵀ and scores·V, non-causal). */
export function layerAttentionFlopsPerToken(model: ModelArchitecture, sequenceLength: number): number {
  return 12 * model.hiddenSize * sequenceLength;
}

/** The output layer's FLOPs per token (logits forward and backward). */
export function outputLayerFlopsPerToken(model: ModelArchitecture): number {
  return 6 * model.hiddenSize * model.vocabSize;
}
