import { PlannerInputError } from './errors';
import { ModelArchitecture } from './models';

/** Activation recomputation (Megatron `--recompute-granularity`). */
export enum Recomputation {
  NONE = 'none',
  /** Core attention only; with flash attention it keeps no extra memory and costs little. */
  SELECTIVE = 'selective',
  /** Whole layers: keeps only each layer's input, re-runs the forward pass in the backward pass. */
  FULL = 'full',
}

/** How one training job is split over its GPUs (Megatron-LM 4D parallelism). */
export interface ParallelLayout {
  /** Tensor-parallel size (with sequence parallelism). */
  readonly tp: number;
  /** Pipeline-parallel size. */
  readonly pp: number;
  /** Context-parallel size. */
  readonly cp: number;
  /** Data-parallel size. */
  readonly dp: number;
  /** Micro-batch size (sequences per GPU per forward pass). */
  readonly mbs: number;
  /**
   * Virtual pipeline stages per GPU (interleaved 1F1B schedule).
   * @default 1
   */
  readonly vp?: number;
}

/** Training settings that change memory and speed. Defaults follow the published estimator's assumptions. */
export interface TrainingOptions {
  /**
   * Shard the fp32 master weights and Adam states over the data-parallel (× context-parallel) group.
   * @default true
   */
  readonly distributedOptimizer?: boolean;
  /**
   * Accumulate and reduce gradients in fp32 (4 bytes per parameter instead of 2).
   * @default true
   */
  readonly fp32GradientAccumulation?: boolean;
  /** @default Recomputation.NONE */
  readonly recomputation?: Recomputation;
  /**
   * Pad the vocabulary to a multiple of 128·TP as Megatron does. The published expected values use the unpadded size.
   * @default false
   */
  readonly padVocabulary?: boolean;
  /**
   * Overlap the tensor-parallel all-gathers and reduce-scatters with the GEMMs (Transformer Engine userbuffers;
   * Megatron-LM `--tp-comm-overlap`, which needs TP > 1 and sequence parallelism). The launch maps it to that flag.
   * @default false
   */
  readonly tpCommOverlap?: boolean;
  /**
   * With full recomputation, recompute only this many layers per pipeline stage (per virtual chunk with
   * interleaving); the others keep their activations. Megatron-LM `--recompute-num-layers N` with
   * `--recompute-granularity full --recompute-method block`.
   * @default - every layer (the stage's layer count)
   */
  readonly recomputeNumLayers?: number;
  /**
   * Run the GEMMs in FP8 (Transformer Engine, `--fp8-format hybrid`); Hopper GPUs only.
   * @default false
   */
  readonly fp8?: boolean;
  /**
   * Reduce gradients in bf16 (Megatron-LM core_v0.12.0+ `--grad-reduce-in-bf16`; NeMo/Megatron-Bridge recipes do) instead
   * of fp32 (Megatron-LM's default with fp32 accumulation): halves the data-parallel reduce-scatter bytes.
   * @default false
   */
  readonly gradientReduceInBf16?: boolean;
}

/** TrainingOptions with every default filled in. */
export interface ResolvedTrainingOptions {
  readonly distributedOptimizer: boolean;
  readonly fp32GradientAccumulation: boolean;
  readonly recomputation: Recomputation;
  readonly padVocabulary: boolean;
  readonly tpCommOverlap: boolean;
  /** Undefined: every layer of a stage when recomputation is full, none otherwise. */
  readonly recomputeNumLayers?: number;
  readonly fp8: boolean;
  readonly gradientReduceInBf16: boolean;
}

export function resolveOptions(options: TrainingOptions = {}): ResolvedTrainingOptions {
  const n = options.recomputeNumLayers;
  if (n !== undefined) {
    if (!Number.isInteger(n) || n < 1) {
      throw new PlannerInputError('recomputeNumLayers', `must be a positive integer, got ${n}`);
    }
    if (options.recomputation !== Recomputation.FULL) {
      throw new PlannerInputError('recomputeNumLayers', `needs recomputation 'full' (Megatron-LM --recompute-num-layers `
        + `applies to --recompute-granularity full), got '${options.recomputation ?? Recomputation.NONE}'`);
    }
  }
  return {
    distributedOptimizer: options.distributedOptimizer ?? true,
    fp32GradientAccumulation: options.fp32GradientAccumulation ?? true,
    recomputation: options.recomputation ?? Recomputation.NONE,
    padVocabulary: options.padVocabulary ?? false,
    tpCommOverlap: options.tpCommOverlap ?? false,
    recomputeNumLayers: options.recomputeNumLayers,
    fp8: options.fp8 ?? false,
    gradientReduceInBf16: options.gradientReduceInBf16 ?? false,
  };
}

/**
 * Share of a stage's layers that recompute their forward pass: 1 with full recomputation (or
 * `recomputeNumLayers` of the stage's layers per chunk), 0 otherwise.
 */
export function recomputedShare(options: ResolvedTrainingOptions, layersPerChunk: number): number {
  if (options.recomputation !== Recomputation.FULL) return 0;
  if (options.recomputeNumLayers === undefined) return 1;
  return Math.min(1, options.recomputeNumLayers / layersPerChunk);
}

/** Virtual stages with the default applied. */
export function vpOf(layout: ParallelLayout): number {
  return layout.vp ?? 1;
}

/** What a layout is checked against; fields left out are not checked. */
export interface LayoutContext {
  readonly sequenceLength: number;
  readonly globalBatchSize?: number;
  readonly totalGpus?: number;
  readonly gpusPerNode?: number;
  /**
   * Accept interleaving where PP·VP divides the layers + 2 (embedding and loss counted as layers, Megatron-LM
   * core_r0.11.0+; see accountsForEmbeddingAndLoss).
   * @default false (the generated launch scripts do not pass --account-for-embedding/loss-in-pipeline-split)
   */
  readonly embeddingAndLossInSplit?: boolean;
}

/**
 * How the transformer layers are spread over the pipeline stages. When PP divides the layers, every stage holds
 * L/PP. Otherwise (Megatron-LM `--decoder-first-pipeline-num-layers` / `--decoder-last-pipeline-num-layers`) the
 * middle stages hold `middle = ⌈L/PP⌉` each and the first and last stages share the rest, the first taking the
 * smaller half (it keeps the most micro-batches in flight): 126 layers over PP 16 are 7 + 14×8 + 7.
 */
export interface PipelineSplit {
  /** Stages (PP). */
  readonly stages: number;
  /** Layers of the first stage (which also holds the input embedding). */
  readonly first: number;
  /** Layers of each of the PP − 2 middle stages (the largest count). */
  readonly middle: number;
  /** Layers of the last stage (which also holds the output layer and the loss). */
  readonly last: number;
  /** PP does not divide L: the first stage (and the last, unless the remainder is odd) holds fewer layers. */
  readonly uneven: boolean;
}

/**
 * The split of `numLayers` over `pp` stages, or undefined when there is none: uneven splits need PP ≥ 3 (a first,
 * a last and at least one middle stage, as Megatron-LM computes the middle from what the first and last leave) and
 * at least one layer on the first and last stages.
 */
export function pipelineSplit(numLayers: number, pp: number): PipelineSplit | undefined {
  if (!Number.isInteger(numLayers) || !Number.isInteger(pp) || numLayers < 1 || pp < 1 || pp > numLayers) {
    return undefined;
  }
  if (numLayers % pp === 0) {
    const each = numLayers / pp;
    return { stages: pp, first: each, middle: each, last: each, uneven: false };
  }
  if (pp < 3) return undefined;
  const middle = Math.ceil(numLayers / pp);
  const ends = numLayers - (pp - 2) * middle;
  const first = Math.floor(ends / 2);
  if (first < 1) return undefined;
  return { stages: pp, first, middle, last: ends - first, uneven: true };
}

/** `7 + 14×8 + 7` for an uneven split; `16×8` for an even one. */
export function pipelineSplitText(split: PipelineSplit): string {
  if (!split.uneven) return `${split.stages}×${split.middle}`;
  return `${split.first} + ${split.stages - 2}×${split.middle} + ${split.last}`;
}

/** Every pipeline size that can split `numLayers` layers, evenly or with fewer layers on the first and last stage. */
export function pipelineSizes(numLayers: number): number[] {
  return Array.from({ length: numLayers }, (_, i) => i + 1).filter((pp) => pipelineSplit(numLayers, pp) !== undefined);
}

type Rule = (model: ModelArchitecture, layout: ParallelLayout, ctx: LayoutContext) => string | undefined;

/**
 * The pinned Megatron-LM release, whose rules these are: core_v0.15.3 (lib/training/megatron-release.ts, the
 * training image's; test/planner/layout.test.ts keeps the two equal). The planner imports nothing from lib/training.
 */
export const LAYOUT_RULES_RELEASE = 'core_v0.15.3';

/**
 * The rules of the planner and of Megatron-LM (LAYOUT_RULES_RELEASE, the release the launch scripts target): what the
 * search enumerates, what `estimate` and `plan` accept and what `renderMegatronSbatch` would otherwise refuse.
 */
const RULES: readonly Rule[] = [
  (_m, l) => positiveIntegers(l),
  (_m, l, c) => (c.totalGpus === undefined || l.tp * l.pp * l.cp * l.dp === c.totalGpus ? undefined
    : `TP·PP·CP·DP must equal the GPU count ${c.totalGpus}, got ${l.tp}·${l.pp}·${l.cp}·${l.dp} = `
      + `${l.tp * l.pp * l.cp * l.dp}`),
  // TP and CP may span nodes (NVIDIA's Llama 3.1 405B recipe runs TP8·CP2 on 8-GPU nodes, Meta ran CP16 at 131K,
  // the Llama-3.1-8B grid ran TP·CP 8 on 4-GPU nodes): nothing refuses it; the throughput model charges the network.
  (m, l) => pipelineRule(m, l),
  (m, l, c) => virtualStageRule(m, l, c),
  (m, l) => (m.numAttentionHeads % l.tp === 0 ? undefined
    : `TP must divide the ${m.numAttentionHeads} attention heads, got ${l.tp}`),
  // Megatron-LM splits the query groups over the TP ranks (it does not replicate KV heads).
  (m, l) => (m.numKvHeads % l.tp === 0 ? undefined
    : `TP must divide the ${m.numKvHeads} KV heads (query groups): Megatron-LM splits them over the TP ranks, `
      + `got ${l.tp}`),
  (_m, l, c) => (l.cp === 1 || c.sequenceLength % (2 * l.cp) === 0 ? undefined
    : `the sequence length must be divisible by 2·CP (load-balanced causal CP), got ${c.sequenceLength} with CP ${l.cp}`),
  (_m, l, c) => (l.tp === 1 || c.sequenceLength % (l.tp * l.cp) === 0 ? undefined
    : `sequence parallelism splits each context-parallel chunk over TP, so TP·CP must divide the sequence length `
      + `${c.sequenceLength}, got ${l.tp}·${l.cp} = ${l.tp * l.cp}`),
  (_m, l, c) => (c.globalBatchSize === undefined || c.globalBatchSize % (l.mbs * l.dp) === 0 ? undefined
    : `the global batch ${c.globalBatchSize} must be divisible by micro-batch·DP = ${l.mbs * l.dp}`),
  (_m, l, c) => interleavedMicroBatchRule(l, c),
];

function positiveIntegers(l: ParallelLayout): string | undefined {
  const values: Array<[string, number]> = [['tp', l.tp], ['pp', l.pp], ['cp', l.cp], ['dp', l.dp],
    ['micro-batch', l.mbs], ['vp', vpOf(l)]];
  const bad = values.filter(([, v]) => !Number.isInteger(v) || v < 1);
  return bad.length === 0 ? undefined : bad.map(([k, v]) => `${k} must be a positive integer, got ${v}`).join('; ');
}

function pipelineRule(m: ModelArchitecture, l: ParallelLayout): string | undefined {
  if (pipelineSplit(m.numLayers, l.pp)) return undefined;
  const uneven = pipelineSizes(m.numLayers).filter((pp) => m.numLayers % pp !== 0);
  return `PP must divide the ${m.numLayers} layers (${divisors(m.numLayers).join(', ')}) or, from 3 stages, split `
    + 'them with fewer layers on the first and last stage and at least one on each'
    + ` (${uneven.length === 0 ? 'none here' : uneven.join(', ')}), got ${l.pp}`;
}

function virtualStageRule(m: ModelArchitecture, l: ParallelLayout, c: LayoutContext): string | undefined {
  const v = vpOf(l);
  if (v === 1) return undefined;
  if (l.pp === 1) return `virtual pipeline stages need PP > 1, got VP ${v} with PP 1`;
  if (m.numLayers % (l.pp * v) === 0) return undefined;
  const withFlags = accountsForEmbeddingAndLoss(m, l);
  if (withFlags && c.embeddingAndLossInSplit) return undefined;
  const flagsText = !withFlags ? ''
    : `; PP·VP = ${l.pp * v} divides the ${m.numLayers + 2} counting the embedding and the loss as one layer each, `
      + 'which needs --account-for-embedding-in-pipeline-split --account-for-loss-in-pipeline-split (not in the '
      + 'generated launch)';
  const split = pipelineSplit(m.numLayers, l.pp);
  if (split?.uneven) {
    const unevenProblem = unevenVirtualStageProblem(split, v);
    return unevenProblem === undefined ? undefined : unevenProblem + flagsText;
  }
  return `PP·VP must divide the ${m.numLayers} layers, got ${l.pp}·${v} = ${l.pp * v}${flagsText}`;
}

/**
 * Uneven stages with the interleaved schedule, as the pinned release checks them (semantics.md §4–5;
 * semantics-lines.md, core_v0.15.3: transformer_config.py:1093–1130 `num_layers_in_first/last_pipeline_stage`
 * and the middle layers per rank must each be divisible by the virtual stages; arguments.py:560 then asks for
 * `--num-virtual-stages-per-pipeline-rank`, which the launch passes). core_r0.9.0–r0.10.0 refused the combination.
 */
function unevenVirtualStageProblem(split: PipelineSplit, v: number): string | undefined {
  const parts = [['first', split.first], ['middle', split.middle], ['last', split.last]] as const;
  const bad = parts.filter(([, layers]) => layers % v !== 0);
  if (bad.length === 0) return undefined;
  return `uneven pipeline stages (${pipelineSplitText(split)} layers) with the interleaved schedule need the first, `
    + `each middle and the last stage's layers divisible by VP (Megatron-LM ${LAYOUT_RULES_RELEASE}), got VP ${v} `
    + `with ${bad.map(([stage, layers]) => `${stage} ${layers}`).join(', ')}`;
}

/**
 * Interleaving where PP·VP divides L + 2 but not L: Megatron-LM (from core_r0.11.0,
 * `--account-for-embedding-in-pipeline-split --account-for-loss-in-pipeline-split`) counts the input embedding and
 * the loss as one layer each, so the first and last stages hold one transformer layer less. NVIDIA's Llama 3.1 405B
 * recipe (126 layers, PP8·VP8 = 64 dividing 128) and Meta's PP16 schedule rely on it. The pinned release has the
 * flags, but the generated launch scripts do not pass them: the rules accept it only with
 * `LayoutContext.embeddingAndLossInSplit` (the CLI's `estimate` sets it), and the search does not offer it.
 */
export function accountsForEmbeddingAndLoss(m: ModelArchitecture, l: ParallelLayout): boolean {
  const v = vpOf(l);
  return v > 1 && l.pp > 1 && m.numLayers % (l.pp * v) !== 0 && (m.numLayers + 2) % (l.pp * v) === 0;
}

/** Megatron-LM's interleaved schedule runs the micro-batches in groups of PP. */
function interleavedMicroBatchRule(l: ParallelLayout, c: LayoutContext): string | undefined {
  if (vpOf(l) === 1 || c.globalBatchSize === undefined || c.globalBatchSize % (l.mbs * l.dp) !== 0) return undefined;
  const microBatches = c.globalBatchSize / (l.mbs * l.dp);
  return microBatches % l.pp === 0 ? undefined
    : `the interleaved schedule (VP ${vpOf(l)}) needs the ${microBatches} micro-batches per step to be a multiple `
      + `of PP ${l.pp}`;
}

/** Every rule the layout breaks, in words; empty when it can run. */
export function layoutProblems(model: ModelArchitecture, layout: ParallelLayout, ctx: LayoutContext): string[] {
  const first = RULES[0](model, layout, ctx);
  if (first) return [first]; // the other rules assume positive integers
  return RULES.slice(1).map((rule) => rule(model, layout, ctx)).filter((p): p is string => p !== undefined);
}

/** Throws a PlannerInputError naming every broken rule. */
export function validateLayout(model: ModelArchitecture, layout: ParallelLayout, ctx: LayoutContext): void {
  const problems = layoutProblems(model, layout, ctx);
  if (problems.length > 0) throw new PlannerInputError('layout', `is not possible: ${problems.join('; ')}`);
}

/** Positive divisors of n, ascending. */
export function divisors(n: number): number[] {
  const out: number[] = [];
  for (let i = 1; i <= n; i++) if (n % i === 0) out.push(i);
  return out;
}
