import { nearest, PlannerInputError, requirePositiveInteger } from './errors';

/**
 * A decoder-only transformer in the Llama family (RMSNorm, SwiGLU MLP, grouped-query attention, no linear biases
 * except optional Q/K/V biases), described the way Megatron-LM's arguments describe it.
 */
export interface ModelArchitecture {
  /** Catalog id, e.g. `llama-3.1-8b`; `custom` for user-supplied architectures. */
  readonly id: string;
  /** Display name, e.g. `Llama-3.1-8B`. */
  readonly name: string;
  /** Hidden size h. */
  readonly hiddenSize: number;
  /** FFN (intermediate) size f of the SwiGLU MLP. */
  readonly ffnHiddenSize: number;
  /** Transformer layers L. */
  readonly numLayers: number;
  /** Attention heads a. */
  readonly numAttentionHeads: number;
  /** Key/value heads k (query groups); equal to `numAttentionHeads` without GQA. */
  readonly numKvHeads: number;
  /** Vocabulary size V (unpadded). */
  readonly vocabSize: number;
  /** True when the output layer shares the input embedding's weights. */
  readonly tiedEmbeddings: boolean;
  /**
   * True when the Q, K and V projections have biases (Qwen2.5). Adds h·(1 + 2k/a) parameters per layer.
   * @default false
   */
  readonly qkvBias?: boolean;
}

function llama(id: string, name: string, h: number, f: number, layers: number, heads: number, kv: number,
  vocab: number, qkvBias = false): ModelArchitecture {
  return {
    id, name, hiddenSize: h, ffnHiddenSize: f, numLayers: layers, numAttentionHeads: heads, numKvHeads: kv,
    vocabSize: vocab, tiedEmbeddings: false, qkvBias,
  };
}

/** Every architecture of the project's model-configs reference (each model's published config.json). */
export const MODEL_CATALOG: readonly ModelArchitecture[] = [
  llama('llama-2-7b', 'Llama-2-7B', 4096, 11008, 32, 32, 32, 32000),
  llama('llama-2-13b', 'Llama-2-13B', 5120, 13824, 40, 40, 40, 32000),
  llama('llama-2-70b', 'Llama-2-70B', 8192, 28672, 80, 64, 8, 32000),
  llama('llama-3-8b', 'Llama-3-8B', 4096, 14336, 32, 32, 8, 128256),
  llama('llama-3.1-8b', 'Llama-3.1-8B', 4096, 14336, 32, 32, 8, 128256),
  llama('llama-3-70b', 'Llama-3-70B', 8192, 28672, 80, 64, 8, 128256),
  llama('llama-3.1-70b', 'Llama-3.1-70B', 8192, 28672, 80, 64, 8, 128256),
  llama('llama-3.3-70b', 'Llama-3.3-70B', 8192, 28672, 80, 64, 8, 128256),
  llama('llama-3.1-405b', 'Llama-3.1-405B', 16384, 53248, 126, 128, 8, 128256),
  llama('qwen2.5-7b', 'Qwen2.5-7B', 3584, 18944, 28, 28, 4, 152064, true),
  llama('qwen2.5-72b', 'Qwen2.5-72B', 8192, 29568, 80, 64, 8, 152064, true),
];

/** The catalog ids, for messages and `--help`. */
export function modelIds(): string[] {
  return MODEL_CATALOG.map((m) => m.id);
}

/** The catalog model with this id (case-insensitive); throws a PlannerInputError listing the valid ids. */
export function findModel(id: string): ModelArchitecture {
  const found = MODEL_CATALOG.find((m) => m.id === id.toLowerCase());
  if (!found) {
    throw new PlannerInputError('model', `must be one of ${modelIds().join(', ')}, got '${id}'${nearest(id, modelIds())}`);
  }
  return found;
}

/**
 * Checks a user-supplied architecture and returns it: sizes are positive integers, heads divide the hidden size,
 * KV heads divide the attention heads.
 */
export function defineModel(model: ModelArchitecture): ModelArchitecture {
  requirePositiveInteger('hiddenSize', model.hiddenSize);
  requirePositiveInteger('ffnHiddenSize', model.ffnHiddenSize);
  requirePositiveInteger('numLayers', model.numLayers);
  requirePositiveInteger('numAttentionHeads', model.numAttentionHeads);
  requirePositiveInteger('numKvHeads', model.numKvHeads);
  requirePositiveInteger('vocabSize', model.vocabSize);
  if (model.hiddenSize % model.numAttentionHeads !== 0) {
    throw new PlannerInputError('numAttentionHeads',
      `must divide hiddenSize ${model.hiddenSize}, got ${model.numAttentionHeads}`);
  }
  if (model.numAttentionHeads % model.numKvHeads !== 0) {
    throw new PlannerInputError('numKvHeads',
      `must divide numAttentionHeads ${model.numAttentionHeads}, got ${model.numKvHeads}`);
  }
  return model;
}

/**
 * Parameters of all transformer layers plus the final norm, Megatron's count
 * `2·L·h²·[(1 + k/a) + (f/h)·3/2 + 1/h] + h`, written term by term so it stays an exact integer:
 * Q and O (2h²), K and V (2h·h·k/a), the three SwiGLU matrices (3hf), two RMSNorm weights (2h); plus Q/K/V biases
 * when the model has them.
 */
export function transformerLayerParameters(model: ModelArchitecture): number {
  const h = model.hiddenSize;
  const kvDim = (h / model.numAttentionHeads) * model.numKvHeads;
  const bias = model.qkvBias ? h + 2 * kvDim : 0;
  const perLayer = 2 * h * h + 2 * h * kvDim + 3 * h * model.ffnHiddenSize + 2 * h + bias;
  return model.numLayers * perLayer + h;
}

/** Vocabulary size, padded the way Megatron pads it (to a multiple of 128·TP) when `pad` is true. */
export function effectiveVocabSize(model: ModelArchitecture, tp: number, pad: boolean): number {
  if (!pad) return model.vocabSize;
  const multiple = 128 * tp;
  return Math.ceil(model.vocabSize / multiple) * multiple;
}

/** Total parameters: transformer layers, input embedding, and the output layer unless it is tied. */
export function countParameters(model: ModelArchitecture): number {
  const embedding = model.hiddenSize * model.vocabSize;
  return transformerLayerParameters(model) + embedding * (model.tiedEmbeddings ? 1 : 2);
}
