import { requirePositive, requirePositiveInteger } from './errors';
import { divisors, layoutProblems, ParallelLayout, pipelineSplit, TrainingOptions } from './layout';
import { DEFAULT_MEMORY_THRESHOLD, estimateMemory, MemoryEstimate, memoryVerdict, MemoryVerdict } from './memory';
import { ModelArchitecture } from './models';
import { ClusterFabric, estimateThroughput, ThroughputEstimate } from './throughput';

/** Parallel sizes fixed by the caller (`plan --tp 8 --pp 2 --vp 4`); the others are searched. */
export type LayoutPin = Partial<Pick<ParallelLayout, 'tp' | 'pp' | 'cp' | 'dp' | 'mbs' | 'vp'>>;

/** The pinned sizes as the CLI spells them, e.g. "TP8 PP2 VP4". */
export function layoutPinText(pin: LayoutPin): string {
  return (['tp', 'pp', 'cp', 'dp', 'mbs', 'vp'] as const).filter((k) => pin[k] !== undefined)
    .map((k) => `${k === 'mbs' ? 'mbs' : k.toUpperCase()}${pin[k]}`).join(' ');
}

/** Largest CP the search tries unless told: Meta's CP16 at 131,072 tokens is the largest published. */
export const DEFAULT_MAX_CP = 16;

export interface SearchInput {
  readonly model: ModelArchitecture;
  /** The GPU, its node size and network. */
  readonly fabric: ClusterFabric;
  readonly totalGpus: number;
  readonly sequenceLength: number;
  readonly globalBatchSize: number;
  readonly options?: TrainingOptions;
  /**
   * Accept a layout when its memory estimate is at most this share of the GPU's memory.
   * @default 0.8 (the published rule)
   */
  readonly memoryThreshold?: number;
  /**
   * Largest micro-batch size tried.
   * @default 16
   */
  readonly maxMbs?: number;
  /**
   * Largest number of virtual pipeline stages (interleaved schedule) tried; 1 turns interleaving off.
   * @default 8
   */
  readonly maxVp?: number;
  /**
   * Largest context-parallel size tried. TP and CP may span nodes; the throughput model charges the network.
   * @default DEFAULT_MAX_CP (16, Meta's Llama 3 long-context setting)
   */
  readonly maxCp?: number;
  /**
   * Also return layouts that do not fit, after those that do, least memory first.
   * @default false
   */
  readonly includeNonFitting?: boolean;
  /**
   * Only layouts with these sizes (a pinned VP, micro-batch or CP is tried even beyond maxVp, maxMbs or maxCp).
   * @default - none: every size is searched
   */
  readonly pin?: LayoutPin;
}

/** One layout with its predicted memory and speed. */
export interface LayoutCandidate {
  /** The layout, with `vp` always set. */
  readonly layout: ParallelLayout;
  readonly memory: MemoryEstimate;
  readonly verdict: MemoryVerdict;
  readonly throughput: ThroughputEstimate;
}

/**
 * Every valid layout of `totalGpus` GPUs, ranked by predicted TFLOP/s per GPU among those that fit, each with its
 * best number of virtual pipeline stages.
 * Valid: the rules of layoutProblems — TP and CP may span nodes (ranked low by their network cost); PP divides the layers or splits them with fewer on the
 * first and last stage (PP ≥ 3, no interleaving); PP·VP divides the layers with interleaving; TP divides the heads
 * and the KV heads; 2·CP and, with TP > 1, TP·CP divide the sequence; micro-batch·DP divides the global batch and,
 * with interleaving, PP divides the micro-batches per step; TP·PP·CP·DP = GPUs.
 */
export function searchLayouts(input: SearchInput): LayoutCandidate[] {
  requirePositiveInteger('totalGpus', input.totalGpus);
  requirePositiveInteger('sequenceLength', input.sequenceLength);
  requirePositiveInteger('globalBatchSize', input.globalBatchSize);
  const threshold = input.memoryThreshold ?? DEFAULT_MEMORY_THRESHOLD;
  requirePositive('memoryThreshold', threshold);
  const pin = input.pin ?? {};
  for (const [name, value] of Object.entries(pin)) {
    if (value !== undefined) requirePositiveInteger(name, value);
  }
  const candidates = enumerateLayouts(input).filter((l) => matchesPin(l, pin))
    .map((layout) => evaluate(input, layout, threshold));
  const kept = input.includeNonFitting ? candidates : candidates.filter((c) => c.verdict.fits);
  return bestVirtualStages(kept.sort(byRank));
}

function matchesPin(layout: ParallelLayout, pin: LayoutPin): boolean {
  return (Object.keys(pin) as (keyof LayoutPin)[])
    .every((k) => pin[k] === undefined || (k === 'vp' ? layout.vp ?? 1 : layout[k]) === pin[k]);
}

/** Interleaving depth is a schedule setting, not a different split: keep the best VP of each layout. */
function bestVirtualStages(ranked: LayoutCandidate[]): LayoutCandidate[] {
  const seen = new Set<string>();
  return ranked.filter(({ layout: l }) => {
    const key = `${l.tp}/${l.pp}/${l.cp}/${l.dp}/${l.mbs}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** All layouts that satisfy the rules (memory not considered). */
export function enumerateLayouts(input: SearchInput): ParallelLayout[] {
  const { model, totalGpus: gpus } = input;
  const ctx = {
    sequenceLength: input.sequenceLength, globalBatchSize: input.globalBatchSize,
    totalGpus: gpus, gpusPerNode: input.fabric.gpusPerNode,
  };
  const out: ParallelLayout[] = [];
  const maxCp = Math.max(input.maxCp ?? DEFAULT_MAX_CP, input.pin?.cp ?? 1);
  // TP beyond the KV heads is refused by the rules; CP beyond maxCp leaves chunks too short to be worth it.
  for (const tp of divisors(gpus).filter((t) => model.numKvHeads % t === 0 && model.numAttentionHeads % t === 0)) {
    for (const cp of divisors(gpus / tp).filter((c) => c <= maxCp)) {
      for (const pp of divisors(gpus / (tp * cp))) {
        if (!pipelineSplit(model.numLayers, pp)) continue;
        const dp = gpus / (tp * cp * pp);
        for (const mbs of microBatchSizes(input, dp)) {
          for (const vp of virtualStageCounts(input, pp)) {
            const layout = { tp, pp, cp, dp, mbs, vp };
            if (layoutProblems(model, layout, ctx).length === 0) out.push(layout);
          }
        }
      }
    }
  }
  return out;
}

function microBatchSizes(input: SearchInput, dp: number): number[] {
  const max = Math.min(Math.max(input.maxMbs ?? 16, input.pin?.mbs ?? 1), input.globalBatchSize);
  return Array.from({ length: max }, (_, i) => i + 1).filter((b) => input.globalBatchSize % (b * dp) === 0);
}

/**
 * VP values to try: those dividing the layers of each stage (with uneven stages, the first, the middle and the last
 * stage's, as the pinned release requires). Interleaving that counts the embedding and loss as layers is not
 * offered: the generated launch does not pass those flags (see accountsForEmbeddingAndLoss).
 */
function virtualStageCounts(input: SearchInput, pp: number): number[] {
  const split = pipelineSplit(input.model.numLayers, pp);
  if (pp === 1 || !split) return [1];
  const max = Math.max(input.maxVp ?? 8, input.pin?.vp ?? 1);
  return divisors(split.middle).filter((v) => v <= max && split.first % v === 0 && split.last % v === 0);
}

function evaluate(input: SearchInput, layout: ParallelLayout, threshold: number): LayoutCandidate {
  const common = {
    model: input.model, layout, sequenceLength: input.sequenceLength,
    globalBatchSize: input.globalBatchSize, options: input.options,
  };
  const memory = estimateMemory(common);
  return {
    layout,
    memory,
    verdict: memoryVerdict(memory.totalGiB, input.fabric.gpu, threshold),
    throughput: estimateThroughput({ ...common, fabric: input.fabric }),
  };
}

/** Fitting layouts first, fastest first; then the others, closest to fitting (least memory) first. */
function byRank(a: LayoutCandidate, b: LayoutCandidate): number {
  if (a.verdict.fits !== b.verdict.fits) return a.verdict.fits ? -1 : 1;
  if (!a.verdict.fits) return a.memory.totalGiB - b.memory.totalGiB;
  const speed = b.throughput.tflopsPerGpu - a.throughput.tflopsPerGpu;
  return speed !== 0 ? speed : a.memory.totalGiB - b.memory.totalGiB;
}
