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
}

/** TrainingOptions with every default filled in. */
export interface ResolvedTrainingOptions {
  readonly distributedOptimizer: boolean;
  readonly fp32GradientAccumulation: boolean;
  readonly recomputation: Recomputation;
  readonly padVocabulary: boolean;
}

export function resolveOptions(options: TrainingOptions = {}): ResolvedTrainingOptions {
  return {
    distributedOptimizer: options.distributedOptimizer ?? true,
    fp32GradientAccumulation: options.fp32GradientAccumulation ?? true,
    recomputation: options.recomputation ?? Recomputation.NONE,
    padVocabulary: options.padVocabulary ?? false,
  };
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
}

type Rule = (model: ModelArchitecture, layout: ParallelLayout, ctx: LayoutContext) => string | undefined;

const RULES: readonly Rule[] = [
  (_m, l) => positiveIntegers(l),
  (_m, l, c) => (c.totalGpus === undefined || l.tp * l.pp * l.cp * l.dp === c.totalGpus ? undefined
    : `TP·PP·CP·DP must equal the GPU count ${c.totalGpus}, got ${l.tp}·${l.pp}·${l.cp}·${l.dp} = `
      + `${l.tp * l.pp * l.cp * l.dp}`),
  // TP and CP exchange data every layer: they must stay on NVLink, inside one node, on aligned GPU groups.
  (_m, l, c) => (c.gpusPerNode === undefined || c.gpusPerNode % (l.tp * l.cp) === 0 ? undefined
    : `TP·CP must divide the ${c.gpusPerNode} GPUs of a node (stay inside it), got ${l.tp}·${l.cp} = ${l.tp * l.cp}`),
  (m, l) => (m.numLayers % l.pp === 0 ? undefined
    : `PP must divide the ${m.numLayers} layers (allowed: ${divisors(m.numLayers).join(', ')}), got ${l.pp}`),
  (m, l) => virtualStageRule(m, l),
  (m, l) => (m.numAttentionHeads % l.tp === 0 ? undefined
    : `TP must divide the ${m.numAttentionHeads} attention heads, got ${l.tp}`),
  (m, l) => (m.numKvHeads % l.tp === 0 || l.tp % m.numKvHeads === 0 ? undefined
    : `TP must divide the ${m.numKvHeads} KV heads or be a multiple of them, got ${l.tp}`),
  (_m, l, c) => (l.cp === 1 || c.sequenceLength % (2 * l.cp) === 0 ? undefined
    : `the sequence length must be divisible by 2·CP (load-balanced causal CP), got ${c.sequenceLength} with CP ${l.cp}`),
  (_m, l, c) => (c.globalBatchSize === undefined || c.globalBatchSize % (l.mbs * l.dp) === 0 ? undefined
    : `the global batch ${c.globalBatchSize} must be divisible by micro-batch·DP = ${l.mbs * l.dp}`),
];

function positiveIntegers(l: ParallelLayout): string | undefined {
  const values: Array<[string, number]> = [['tp', l.tp], ['pp', l.pp], ['cp', l.cp], ['dp', l.dp],
    ['micro-batch', l.mbs], ['vp', vpOf(l)]];
  const bad = values.filter(([, v]) => !Number.isInteger(v) || v < 1);
  return bad.length === 0 ? undefined : bad.map(([k, v]) => `${k} must be a positive integer, got ${v}`).join('; ');
}

function virtualStageRule(m: ModelArchitecture, l: ParallelLayout): string | undefined {
  const v = vpOf(l);
  if (v === 1) return undefined;
  if (l.pp === 1) return `virtual pipeline stages need PP > 1, got VP ${v} with PP 1`;
  return m.numLayers % (l.pp * v) === 0 ? undefined
    : `PP·VP must divide the ${m.numLayers} layers, got ${l.pp}·${v} = ${l.pp * v}`;
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
