import { PlannerInputError } from '../planner/errors';
import { MegatronRelease, releaseAtLeast } from './megatron-release';

/*
 * Megatron-LM's own rules for a pretrain_gpt.py argument list, checked when the launch script is rendered rather
 * than minutes into a job. Each cites the place in /work/shared/reference/megatron-lm/semantics.md (section) that
 * gives the release's source lines.
 */

/** One flag with its values, e.g. `['--tensor-model-parallel-size', '8']`. */
export type MegatronArgument = readonly string[];

/** What the rules need beyond the flags. */
export interface LaunchContext {
  readonly release: MegatronRelease;
  readonly numLayers: number;
  /** Data-parallel size of the layout. */
  readonly dp: number;
}

class Flags {
  private readonly values = new Map<string, string[]>();
  constructor(args: readonly MegatronArgument[]) {
    for (const [flag, ...rest] of args) this.values.set(flag, rest);
  }
  has(flag: string): boolean {
    return this.values.has(flag);
  }
  value(flag: string): string | undefined {
    return this.values.get(flag)?.[0];
  }
  int(flag: string, fallback: number): number {
    const v = this.value(flag);
    return v === undefined ? fallback : Number(v);
  }
}

function refuse(field: string, message: string): never {
  throw new PlannerInputError(field, message);
}

/** §1: asynchronous saves only in torch_dist; from v0.16 only with the persistent worker. */
function asyncSave(f: Flags, ctx: LaunchContext): void {
  if (!f.has('--async-save')) return;
  const format = f.value('--ckpt-format') ?? 'torch_dist';
  if (format !== 'torch_dist') {
    refuse('checkpointFormat', `--async-save needs --ckpt-format torch_dist (Megatron-LM raises at the first save), got ${format}`);
  }
  if (releaseAtLeast(ctx.release, 0, 16) && !f.has('--use-persistent-ckpt-worker')) {
    refuse('asyncSave', `--async-save is switched off without --use-persistent-ckpt-worker from core_v0.16.0 (${ctx.release.tag})`);
  }
}

/** §2: tensor-parallel communication overlap. */
function tpCommOverlap(f: Flags, ctx: LaunchContext): void {
  if (!f.has('--tp-comm-overlap')) return;
  const tp = f.int('--tensor-model-parallel-size', 1);
  if (tp <= 1) refuse('tpCommOverlap', `--tp-comm-overlap needs TP > 1 (sequence parallelism is off at TP 1), got TP ${tp}`);
  if (!f.has('--sequence-parallel')) refuse('tpCommOverlap', '--tp-comm-overlap needs --sequence-parallel');
  if (!releaseAtLeast(ctx.release, 0, 10)) {
    refuse('tpCommOverlap', `--tp-comm-overlap on ${ctx.release.tag} bootstraps over MPI, which srun does not provide; `
      + 'use core_r0.10.0 or later with --tp-comm-bootstrap-backend nccl');
  }
  if (f.value('--tp-comm-bootstrap-backend') !== 'nccl') {
    refuse('tpCommOverlap', '--tp-comm-overlap under srun needs --tp-comm-bootstrap-backend nccl (the default mpi needs an MPI world)');
  }
}

/** §3: parameter-gather overlap. */
function overlapParamGather(f: Flags): void {
  if (!f.has('--overlap-param-gather')) return;
  if (!f.has('--use-distributed-optimizer')) refuse('distributedOptimizer', '--overlap-param-gather needs --use-distributed-optimizer');
  if (!f.has('--overlap-grad-reduce')) refuse('overlapGradReduce', '--overlap-param-gather needs --overlap-grad-reduce');
}

/** §4 and §5: virtual and uneven pipeline stages, and the micro-batches the interleaved schedule needs. */
function pipeline(f: Flags, ctx: LaunchContext): void {
  const pp = f.int('--pipeline-model-parallel-size', 1);
  const perStage = f.int('--num-layers-per-virtual-pipeline-stage', 0);
  const stagesPerRank = f.int('--num-virtual-stages-per-pipeline-rank', 0);
  const first = f.int('--decoder-first-pipeline-num-layers', 0);
  const last = f.int('--decoder-last-pipeline-num-layers', 0);
  const uneven = first > 0 || last > 0;
  if (perStage > 0 && stagesPerRank > 0) {
    refuse('layout.vp', 'give one of --num-layers-per-virtual-pipeline-stage and --num-virtual-stages-per-pipeline-rank');
  }
  let vp = 1;
  if (perStage > 0) {
    if (uneven) {
      refuse('layout.vp', 'uneven first/last stages with virtual stages need --num-virtual-stages-per-pipeline-rank');
    }
    if (ctx.numLayers % pp !== 0 || (ctx.numLayers / pp) % perStage !== 0) {
      refuse('layout.vp', `the ${ctx.numLayers} layers must split into PP ${pp} stages of whole virtual stages of ${perStage} layers`);
    }
    vp = ctx.numLayers / pp / perStage;
  } else if (stagesPerRank > 0) {
    vp = stagesPerRank;
  }
  if (vp > 1 && pp <= 1) refuse('layout.vp', `virtual pipeline stages need PP > 1, got PP ${pp}`);
  if (uneven) {
    if (vp > 1 && !releaseAtLeast(ctx.release, 0, 11)) {
      refuse('layout.vp', `${ctx.release.tag} refuses uneven first/last stages with the interleaved schedule (core_r0.11.0 allows it)`);
    }
    const middleStages = pp - (first > 0 ? 1 : 0) - (last > 0 ? 1 : 0);
    const middle = ctx.numLayers - first - last;
    if (middleStages <= 0 ? middle !== 0 : middle % middleStages !== 0) {
      refuse('layout.pp', `the ${middle} layers between the first and last stages must divide over ${middleStages} middle stages`);
    }
    if (vp > 1) {
      const perRank = middleStages > 0 ? middle / middleStages : 0;
      for (const [name, n] of [['first', first], ['last', last], ['middle', perRank]] as const) {
        if (n % vp !== 0) refuse('layout.vp', `the ${name} stage's ${n} layers must be divisible by VP ${vp}`);
      }
    }
  }
  if (vp > 1) {
    const mbs = f.int('--micro-batch-size', 1);
    const gbs = f.int('--global-batch-size', mbs * ctx.dp);
    const microBatches = gbs / (mbs * ctx.dp);
    if (!Number.isInteger(microBatches) || microBatches % pp !== 0) {
      refuse('globalBatchSize', `the interleaved schedule (VP ${vp}) needs the micro-batches per step `
        + `(${gbs} / (${mbs}·${ctx.dp}) = ${microBatches}) to be a multiple of PP ${pp}`);
    }
  }
}

/** §8: one data source. */
function dataSource(f: Flags): void {
  const sources = ['--mock-data', '--data-path', '--data-args-path', '--per-split-data-args-path'].filter((s) => f.has(s));
  if (sources.length > 1) refuse('data', `give one data source, got ${sources.join(', ')}`);
}

/** §6: continual pre-training resumes the run and starts from the base only while the run has no checkpoint. */
function pretrainedCheckpoint(f: Flags): void {
  if (!f.has('--pretrained-checkpoint')) return;
  if (f.value('--load') === undefined || f.value('--load') !== f.value('--save')) {
    refuse('baseCheckpoint', '--pretrained-checkpoint BASE needs --load RUN --save RUN, so a restart resumes the run');
  }
}

/** Throws a PlannerInputError naming the rule the arguments break. */
export function checkLaunchRules(args: readonly MegatronArgument[], ctx: LaunchContext): void {
  const f = new Flags(args);
  asyncSave(f, ctx);
  tpCommOverlap(f, ctx);
  overlapParamGather(f);
  pipeline(f, ctx);
  dataSource(f);
  pretrainedCheckpoint(f);
}
