import { PlannerInputError, requirePositive, requirePositiveInteger } from '../planner/errors';
import { flopsPerToken } from '../planner/flops';
import { findInstanceType } from '../planner/instances';
import {
  layoutProblems, ParallelLayout, pipelineSplit, Recomputation, validateLayout, vpOf,
} from '../planner/layout';
import { estimateMemory } from '../planner/memory';
import { MODEL_CATALOG, ModelArchitecture } from '../planner/models';
import { TrainingPlan } from '../planner/plan';
import { estimateThroughput, fabricForInstance } from '../planner/throughput';
import { DataMixture, dataPathWords, planDataMixture } from './data-mixture';
import { jobSettings } from './job-settings';
import { checkLaunchRules, MegatronArgument } from './launch-rules';
import { MEGATRON_RELEASE } from './megatron-release';

/*
 * A Megatron-LM pre-training job for a TrainingPlan, as a Slurm batch script for a HyperPod cluster. The script holds
 * only what the plan decides: #SBATCH lines, the plan's numbers, variables and the pretrain_gpt.py argument arrays.
 * Everything fixed (checks, NCCL/EFA environment, checkpoints, the clean stop before the time limit, requeue,
 * checkpoint pruning) is lib/cluster/lifecycle/jobs/megatron-launch.sh, installed in <fsx>/jobs and sourced.
 * The flags are those of the pinned release (MEGATRON_RELEASE, core_v0.15.3); checkLaunchRules applies that
 * release's rules (semantics.md) when the script is rendered.
 */

/** Settings of the launch script that the plan does not decide. */
export interface SbatchOptions {
  /**
   * Name of the run: job `pretrain-<runName>`, checkpoints in `<fsx>/checkpoints/<runName>`, experiment name.
   * Letters, digits, `.`, `_` and `-`.
   * @default - the model id
   */
  readonly runName?: string;
  /** @default '/fsx' */
  readonly fsxMountPath?: string;
  /**
   * Slurm partition (a HyperPod compute group).
   * @default - the cluster's default partition
   */
  readonly partition?: string;
  /**
   * Slurm time limit (`--time`), e.g. `7-00:00:00`. Megatron saves and stops `STOP_MARGIN_S` (15 minutes) before
   * it (`--exit-duration-in-mins`), then the job requeues itself.
   * @default - the partition's limit
   */
  readonly timeLimit?: string;
  /**
   * Steps between checkpoints.
   * @default - the plan's checkpoint interval divided by its step time (at least 1)
   */
  readonly saveIntervalSteps?: number;
  /**
   * The weighted sources of the run (see `planDataMixture`): each becomes `weight <fsx>/datasets/<prefix>` in
   * Megatron's `--data-path`, the weights the share of the plan's tokens.
   * @default - one dataset, `<fsx>/datasets/<runName>/text_document`
   */
  readonly dataMixture?: DataMixture;
  /**
   * Megatron `--data-path` as words (one prefix, or `weight prefix …`); instead of `dataMixture`.
   * @default - from dataMixture
   */
  readonly dataPath?: string;
  /**
   * Hugging Face tokenizer directory or name (`--tokenizer-type HuggingFaceTokenizer`).
   * @default `<fsx>/models/<model id>`
   */
  readonly tokenizerModel?: string;
  /**
   * The base model converted to torch_dist (convert-hf-to-megatron.sbatch): `--pretrained-checkpoint`, loaded
   * (weights only, iteration 0) while the run has no checkpoint of its own. Empty string: train from scratch.
   * @default `<fsx>/checkpoints/<model id>-base/torch_dist`
   */
  readonly baseCheckpoint?: string;
  /**
   * The training image as an enroot squashfs on the file system (import-training-image.sbatch writes it), or any
   * image reference pyxis accepts. Empty string: no container (MEGATRON_DIR and PYTHON on the host).
   * @default `<fsx>/images/training.sqsh`
   */
  readonly containerImage?: string;
  /**
   * Peak learning rate (cosine decay to a tenth of it over the run). The default is the Swallow team's continual
   * pre-training rate for Llama 3.3 70B; training from scratch wants a larger one.
   * @default 1.75e-5
   */
  readonly learningRate?: number;
  /**
   * Linear warm-up steps.
   * @default - 1000, at most a tenth of the run
   */
  readonly warmupSteps?: number;
  /**
   * Weights & Biases project, used when the cluster provides `WANDB_API_KEY` (`experiment-tracking-env`).
   * @default - runName
   */
  readonly wandbProject?: string;
  /**
   * RoPE base (`--rotary-base`); required for a model outside the catalog, which carries no position settings.
   * @default - the catalog model's published `rope_theta`
   */
  readonly rotaryBase?: number;
  /**
   * Ask Slurm for nodes under one network switch (`--switches=1@WAIT`), waiting at most this many minutes before
   * taking any nodes; needs the topology/tree plugin and a topology.conf (lifecycle step 45-topology). 0: do not ask.
   * @default 60
   */
  readonly singleSwitchWaitMinutes?: number;
  /**
   * Steps between Megatron's log lines (throughput, straggler report).
   * @default 1
   */
  readonly logInterval?: number;
}

/** What the model catalog does not say but Megatron needs: the published config.json values. */
interface PositionSettings {
  readonly rotaryBase: number;
  readonly maxPositionEmbeddings: number;
  /** Llama 3.1-style frequency scaling (`rope_scaling.rope_type = llama3`, factor 8): Megatron's `--use-rope-scaling`. */
  readonly ropeScaling: boolean;
  readonly normEpsilon: number;
}

function position(rotaryBase: number, maxPositionEmbeddings: number, ropeScaling: boolean,
  normEpsilon: number): PositionSettings {
  return { rotaryBase, maxPositionEmbeddings, ropeScaling, normEpsilon };
}

/** By catalog id: `rope_theta`, `max_position_embeddings`, `rope_scaling` and `rms_norm_eps` of each config.json. */
const POSITION_SETTINGS: ReadonlyMap<string, PositionSettings> = new Map([
  ['llama-2-7b', position(10000, 4096, false, 1e-5)],
  ['llama-2-13b', position(10000, 4096, false, 1e-5)],
  ['llama-2-70b', position(10000, 4096, false, 1e-5)],
  ['llama-3-8b', position(500000, 8192, false, 1e-5)],
  ['llama-3.1-8b', position(500000, 131072, true, 1e-5)],
  ['llama-3-70b', position(500000, 8192, false, 1e-5)],
  ['llama-3.1-70b', position(500000, 131072, true, 1e-5)],
  ['llama-3.3-70b', position(500000, 131072, true, 1e-5)],
  ['llama-3.1-405b', position(500000, 131072, true, 1e-5)],
  ['qwen2.5-7b', position(1000000, 32768, false, 1e-6)],
  ['qwen2.5-72b', position(1000000, 32768, false, 1e-6)],
]);


const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const SAFE_PATH = /^\/[A-Za-z0-9._\/+@=-]*$/;
/** Characters that keep their meaning inside a double-quoted shell word. */
const SAFE_WORDS = /^[A-Za-z0-9._\/+@=:, -]+$/;
/** An image reference pyxis takes: a squashfs path or `registry#image:tag`. */
const SAFE_IMAGE = /^[A-Za-z0-9._\/+@=:#-]+$/;

/** What the planner may add to a layout (issue 16); read when present. */
interface LayoutExtras {
  readonly tpCommOverlap?: boolean;
  readonly recomputeNumLayers?: number;
}

/**
 * The Slurm batch script that runs Megatron-LM's `pretrain_gpt.py` with the plan. Throws a PlannerInputError when
 * the plan breaks a layout rule (layoutProblems) or a rule of the pinned Megatron-LM release (checkLaunchRules), or
 * when an option is not usable in a shell script.
 */
export function renderMegatronSbatch(plan: TrainingPlan, options: SbatchOptions = {}): string {
  const job = resolveJob(plan, options);
  const args = megatronArguments(plan, job);
  checkLaunchRules(asTrainingRuns(args, job), { release: MEGATRON_RELEASE, numLayers: plan.model.numLayers, dp: plan.layout.dp });
  return [
    ...header(plan, job),
    ...planComments(plan, job),
    'set -euo pipefail',
    '',
    ...settings(plan, job),
    ...argumentArrays(args),
    '# The fixed part of the launch: checks, environment, checkpoints, clean stop and requeue (docs/jobs.md).',
    ': "${LAUNCH_LIBRARY:=$FSX/jobs/megatron-launch.sh}"',
    '# shellcheck source=lib/cluster/lifecycle/jobs/megatron-launch.sh',
    'source "$LAUNCH_LIBRARY"',
    '',
  ].join('\n');
}

/** Everything the script needs, validated. */
interface Job {
  readonly runName: string;
  readonly fsx: string;
  readonly partition?: string;
  readonly timeLimit?: string;
  readonly saveIntervalSteps: number;
  readonly dataWords: string[];
  readonly tokenizerModel: string;
  readonly baseCheckpoint: string;
  readonly containerImage: string;
  readonly learningRate: number;
  readonly warmupSteps: number;
  readonly wandbProject: string;
  readonly position: PositionSettings;
  readonly gpusPerNode: number;
  readonly efa: boolean;
  readonly switchWaitMinutes: number;
  readonly logInterval: number;
}

function resolveJob(plan: TrainingPlan, options: SbatchOptions): Job {
  const instance = findInstanceType(plan.instanceType);
  validatePlan(plan, instance.gpusPerNode);
  const runName = options.runName ?? plan.model.id;
  requireMatch('runName', runName, SAFE_NAME, 'letters, digits, ".", "_" and "-"');
  const fsx = (options.fsxMountPath ?? '/fsx').replace(/\/+$/, '');
  requireMatch('fsxMountPath', fsx, SAFE_PATH, 'an absolute path');
  if (options.partition !== undefined) {
    requireMatch('partition', options.partition, SAFE_NAME, 'a Slurm partition name');
  }
  if (options.timeLimit !== undefined) {
    requireMatch('timeLimit', options.timeLimit, /^(\d+-)?\d+(:\d{2}){0,2}$/, 'a Slurm time such as 7-00:00:00');
  }
  const saveIntervalSteps = options.saveIntervalSteps
    ?? Math.max(1, Math.floor(plan.checkpointIntervalMinutes * 60 / plan.stepSeconds));
  requirePositiveInteger('saveIntervalSteps', saveIntervalSteps);
  const tokenizerModel = options.tokenizerModel ?? `${fsx}/models/${plan.model.id}`;
  requireMatch('tokenizerModel', tokenizerModel, SAFE_WORDS, 'a path or a Hugging Face model name');
  const baseCheckpoint = options.baseCheckpoint ?? `${fsx}/checkpoints/${plan.model.id}-base/torch_dist`;
  if (baseCheckpoint) requireMatch('baseCheckpoint', baseCheckpoint, SAFE_PATH, 'an absolute path');
  const containerImage = options.containerImage ?? `${fsx}/images/training.sqsh`;
  if (containerImage) requireMatch('containerImage', containerImage, SAFE_IMAGE, 'a squashfs path or an image reference');
  const learningRate = options.learningRate ?? 1.75e-5;
  requirePositive('learningRate', learningRate);
  const warmupSteps = options.warmupSteps ?? Math.min(1000, Math.floor(plan.steps / 10));
  if (!Number.isInteger(warmupSteps) || warmupSteps < 0 || warmupSteps >= plan.steps) {
    throw new PlannerInputError('warmupSteps', `must be a whole number of steps below the run's ${plan.steps}, `
      + `got ${warmupSteps}`);
  }
  const wandbProject = options.wandbProject ?? runName;
  requireMatch('wandbProject', wandbProject, SAFE_NAME, 'letters, digits, ".", "_" and "-"');
  const switchWaitMinutes = options.singleSwitchWaitMinutes ?? 60;
  if (!Number.isInteger(switchWaitMinutes) || switchWaitMinutes < 0) {
    throw new PlannerInputError('singleSwitchWaitMinutes', `must be a whole number of minutes (0: any placement), got ${switchWaitMinutes}`);
  }
  const logInterval = options.logInterval ?? 1;
  requirePositiveInteger('logInterval', logInterval);
  return {
    runName, fsx, partition: options.partition, timeLimit: options.timeLimit, saveIntervalSteps,
    dataWords: dataWords(plan, options, fsx, runName), tokenizerModel, baseCheckpoint, containerImage, learningRate,
    warmupSteps, wandbProject, position: positionSettings(plan.model, options.rotaryBase),
    gpusPerNode: instance.gpusPerNode, efa: instance.efaInterfaces > 0, switchWaitMinutes, logInterval,
  };
}

function dataWords(plan: TrainingPlan, options: SbatchOptions, fsx: string, runName: string): string[] {
  if (options.dataPath !== undefined && options.dataMixture !== undefined) {
    throw new PlannerInputError('dataPath', 'give dataPath or dataMixture, not both');
  }
  if (options.dataPath !== undefined) {
    requireMatch('dataPath', options.dataPath, SAFE_WORDS, 'paths and weights separated by spaces');
    return options.dataPath.trim().split(/\s+/);
  }
  if (options.dataMixture) return dataPathWords(planDataMixture(options.dataMixture, plan.tokens), `${fsx}/datasets`);
  return [`${fsx}/datasets/${runName}/text_document`];
}

/**
 * The plan's layout must run under Megatron-LM: the layout rules (lib/planner/layout.ts) are Megatron-LM's own, so a
 * plan from planTraining passes; a hand-made plan may not.
 */
function validatePlan(plan: TrainingPlan, gpusPerNode: number): void {
  if (plan.gpus !== plan.nodes * gpusPerNode) {
    throw new PlannerInputError('gpus', `must be nodes × GPUs per node = ${plan.nodes} × ${gpusPerNode}, got ${plan.gpus}`);
  }
  validateLayout(plan.model, plan.layout, {
    sequenceLength: plan.sequenceLength, globalBatchSize: plan.globalBatchSize, totalGpus: plan.gpus, gpusPerNode,
  });
}

function positionSettings(model: ModelArchitecture, rotaryBase?: number): PositionSettings {
  const catalog = MODEL_CATALOG.some((m) => m.id === model.id) ? POSITION_SETTINGS.get(model.id) : undefined;
  if (rotaryBase !== undefined) {
    requirePositive('rotaryBase', rotaryBase);
    return catalog ? { ...catalog, rotaryBase } : position(rotaryBase, 0, false, 1e-5);
  }
  if (!catalog) {
    throw new PlannerInputError('rotaryBase', `is required for ${model.name}, which is not in the model catalog: `
      + 'the launch script needs its RoPE base (rope_theta in its config.json); use a catalog model (--model) or '
      + 'give renderMegatronSbatch the rotaryBase option');
  }
  return catalog;
}

function requireMatch(field: string, value: string, pattern: RegExp, allowed: string): void {
  if (!pattern.test(value)) throw new PlannerInputError(field, `must be ${allowed}, got '${value}'`);
}

function layoutText(l: ParallelLayout): string {
  return `TP${l.tp} PP${l.pp} CP${l.cp} DP${l.dp} mbs${l.mbs} vp${vpOf(l)}`;
}

/** 1.75e-5 rather than 0.0000175 (and no floating-point noise). */
function scientific(value: number): string {
  return Number(value.toPrecision(6)).toExponential();
}

function round(value: number, decimals: number): string {
  return value.toFixed(decimals);
}

/** The plan command that reproduces this plan (catalog models; the probe prints it with --measured-tflops). */
function planCommand(plan: TrainingPlan): string {
  const args = ['cdk-hyperpod-plan', 'plan', '--model', plan.model.id, '--instance', plan.instanceType,
    '--nodes', String(plan.nodes), '--tokens', plan.tokens.toExponential().replace('e+', 'e'),
    '--seq', String(plan.sequenceLength), '--gbs', String(plan.globalBatchSize),
    '--checkpoint-interval-min', String(plan.checkpointIntervalMinutes)];
  // A goodput that was given, not the goodput model's (which the command recomputes).
  if (plan.goodput !== plan.goodputModel.goodput) args.push('--goodput', String(plan.goodput));
  const pin = plan.pinnedLayout ?? {};
  for (const size of ['tp', 'pp', 'cp', 'dp', 'vp', 'mbs'] as const) {
    if (pin[size] !== undefined) args.push(`--${size}`, String(pin[size]));
  }
  if (plan.options.recomputation !== Recomputation.NONE) args.push('--recompute', plan.options.recomputation);
  if (!plan.options.distributedOptimizer) args.push('--no-distributed-optimizer');
  if (!plan.options.fp32GradientAccumulation) args.push('--no-fp32-grad');
  if (plan.options.padVocabulary) args.push('--pad-vocab');
  return args.join(' ');
}

function header(plan: TrainingPlan, job: Job): string[] {
  const sbatch = [
    `#SBATCH --job-name=pretrain-${job.runName}`,
    `#SBATCH --nodes=${plan.nodes}`,
    `#SBATCH --ntasks-per-node=${job.gpusPerNode}`,
    '#SBATCH --exclusive',
    ...(job.partition ? [`#SBATCH --partition=${job.partition}`] : []),
    ...(job.timeLimit ? [`#SBATCH --time=${job.timeLimit}`] : []),
    '#SBATCH --output=%x-%j.out',
    '# A requeued job appends to its log instead of truncating it.',
    '#SBATCH --open-mode=append',
    '#SBATCH --requeue',
    ...(job.switchWaitMinutes > 0 && plan.nodes > 1 ? [
      '# All nodes under one network switch (topology/tree), or any nodes after this wait.',
      `#SBATCH --switches=1@${job.switchWaitMinutes}`,
    ] : []),
  ];
  return [
    '#!/usr/bin/env bash',
    `# Megatron-LM pre-training of ${plan.modelName} on ${plan.nodes}x ${plan.instanceType} (${plan.gpus} GPUs): `
      + `${layoutText(plan.layout)}.`,
    '# Generated by cdk-hyperpod-training from a training plan; generate it again rather than edit the layout:',
    `#   ${planCommand(plan)} --emit-sbatch FILE`,
    `# Megatron-LM ${MEGATRON_RELEASE.tag} (${MEGATRON_RELEASE.commit}), as in the training image. docs/jobs.md.`,
    '#',
    `#   sbatch pretrain-${job.runName}.sbatch     start, or resume from the newest checkpoint in CKPT_DIR`,
    `#   ${job.fsx}/jobs/throughput-probe.sh -n NODES pretrain-${job.runName}.sbatch     measure a short run`,
    '#',
    '# Inputs from the environment (defaults below and in megatron-launch.sh): CONTAINER_IMAGE, MEGATRON_DIR,',
    '# DATA_PATH, TOKENIZER_MODEL, BASE_CHECKPOINT, CKPT_DIR, KEEP_CHECKPOINTS, LOG_DIR, WANDB_PROJECT, LR, MIN_LR,',
    '# TP_COMM_OVERLAP, AUTO_RESUME, STOP_MARGIN_S; a probe: PROBE_ITERS, MOCK_DATA; conversions: CONVERT_FROM,',
    '# EXPORT_ITERATION. Nothing is downloaded.',
    ...sbatch,
    '',
  ];
}

/** Machine-readable lines for throughput-probe.sh: `# plan.<key>=<value>`. */
function planComments(plan: TrainingPlan, job: Job): string[] {
  const values: Array<[string, string]> = [
    ['model', plan.model.id],
    ['instance_type', plan.instanceType],
    ['nodes', String(plan.nodes)],
    ['gpus_per_node', String(job.gpusPerNode)],
    ['layout', layoutText(plan.layout)],
    ['sequence_length', String(plan.sequenceLength)],
    ['global_batch_size', String(plan.globalBatchSize)],
    ['steps', String(plan.steps)],
    ['step_seconds', round(plan.stepSeconds, 2)],
    ['tflops_per_gpu', round(plan.tflopsPerGpu, 1)],
    ['predicted_tflops_per_gpu', round(plan.predictedTflopsPerGpu, 1)],
    ['tokens_per_second_per_gpu', round(plan.tokensPerSecondPerGpu, 0)],
    ['flops_per_token', round(flopsPerToken(plan.model, plan.sequenceLength), 0)],
    ['days', round(plan.days, 1)],
    ['save_interval_steps', String(job.saveIntervalSteps)],
    ['checkpoint_interval_minutes', String(plan.checkpointIntervalMinutes)],
    ['checkpoints_retained', String(plan.checkpointsRetained)],
    ['command', planCommand(plan)],
  ];
  const jobs = jobSettings(plan, { runName: job.runName, fsx: job.fsx, tokenizerModel: job.tokenizerModel,
    baseCheckpoint: job.baseCheckpoint, containerImage: job.containerImage });
  return [
    '# The plan, read by throughput-probe.sh (Megatron model FLOPs, non-causal attention; speeds per GPU):',
    ...values.map(([key, value]) => `# plan.${key}=${value}`),
    '# For the conversion, export and tokenization jobs beside this script (docs/jobs.md):',
    ...jobs.map(([key, value]) => `# plan.${key}=${value}`),
    '# Predicted for this layout on fewer nodes (DP shrinks; memory per GPU grows as the optimizer is sharded less):',
    ...predictions(plan).map((p) => `# plan.predicted nodes=${p.nodes} dp=${p.dp} tflops_per_gpu=${round(p.tflops, 1)} `
      + `tokens_per_second_per_gpu=${round(p.tokens, 0)} step_seconds=${round(p.stepSeconds, 2)} `
      + `memory_gib=${round(p.memoryGiB, 1)} fits=${p.fits ? 'yes' : 'no'}`),
    '',
  ];
}

interface Prediction {
  readonly nodes: number;
  readonly dp: number;
  readonly tflops: number;
  readonly tokens: number;
  readonly stepSeconds: number;
  readonly memoryGiB: number;
  readonly fits: boolean;
}

/** The model's numbers for the plan's layout at every node count up to the plan's where it can run. */
function predictions(plan: TrainingPlan): Prediction[] {
  const instance = findInstanceType(plan.instanceType);
  const fabric = fabricForInstance(instance);
  const { tp, pp, cp } = plan.layout;
  const out: Prediction[] = [];
  for (let nodes = 1; nodes <= plan.nodes; nodes++) {
    const gpus = nodes * instance.gpusPerNode;
    if (gpus % (tp * pp * cp) !== 0) continue;
    const layout = { ...plan.layout, dp: gpus / (tp * pp * cp) };
    if (layoutProblems(plan.model, layout, { sequenceLength: plan.sequenceLength,
      globalBatchSize: plan.globalBatchSize, totalGpus: gpus, gpusPerNode: instance.gpusPerNode }).length > 0) continue;
    const dp = layout.dp;
    const common = { model: plan.model, layout, sequenceLength: plan.sequenceLength,
      globalBatchSize: plan.globalBatchSize, options: plan.options };
    const speed = estimateThroughput({ ...common, fabric });
    const memory = estimateMemory(common);
    out.push({ nodes, dp, tflops: speed.tflopsPerGpu, tokens: speed.tokensPerSecondPerGpu,
      stepSeconds: speed.stepSeconds, memoryGiB: memory.totalGiB, fits: memory.totalGiB <= plan.memoryLimitGiB });
  }
  return out;
}

function settings(plan: TrainingPlan, job: Job): string[] {
  const l = plan.layout;
  const saveIntervalSeconds = job.saveIntervalSteps * plan.stepSeconds;
  return [
    '# The layout and schedule of the plan.',
    `readonly TP=${l.tp} PP=${l.pp} CP=${l.cp} VP=${vpOf(l)} MICRO_BATCH=${l.mbs} GLOBAL_BATCH=${plan.globalBatchSize}`,
    `readonly GPUS_PER_NODE=${job.gpusPerNode} TRAIN_STEPS=${plan.steps} SAVE_INTERVAL=${job.saveIntervalSteps}`,
    `readonly FSX=${job.fsx} RUN_NAME=${job.runName} REQUIRE_OFI=${job.efa ? 1 : 0}`,
    `readonly EVAL_INTERVAL=1000 EVAL_ITERS=10 DATA_SPLIT=990,10,0`,
    '# The plan\'s predictions, printed first in the job log as the [hyperpod-plan] line.',
    `readonly PLAN_TFLOPS_PER_GPU=${round(plan.tflopsPerGpu, 1)} PLAN_TOKENS_PER_S_PER_GPU=${round(plan.tokensPerSecondPerGpu, 1)}`,
    `readonly PLAN_ITERATION_S=${round(plan.stepSeconds, 2)} PLAN_SAVE_INTERVAL_S=${round(saveIntervalSeconds, 1)}`,
    '',
    `: "\${CONTAINER_IMAGE=${job.containerImage}}"`,
    `: "\${TOKENIZER_MODEL:=${job.tokenizerModel}}"`,
    `: "\${BASE_CHECKPOINT=${job.baseCheckpoint}}"`,
    '# The file system was sized to hold this many checkpoints; older ones are deleted once in S3 (0: keep all).',
    `: "\${KEEP_CHECKPOINTS:=${plan.checkpointsRetained}}"`,
    `: "\${WANDB_PROJECT:=${job.wandbProject}}"`,
    `: "\${LR:=${scientific(job.learningRate)}}"`,
    `: "\${MIN_LR:=${scientific(job.learningRate / 10)}}"`,
    '',
  ];
}

/** The script's argument arrays, in the order megatron-launch.sh joins them. */
interface ArgumentArrays {
  readonly layout: MegatronArgument[];
  readonly virtualStages: MegatronArgument[];
  readonly model: MegatronArgument[];
  readonly training: MegatronArgument[];
  readonly tpCommOverlap: MegatronArgument[];
  readonly checkpoint: MegatronArgument[];
  readonly dataBlend: string[];
}

function megatronArguments(plan: TrainingPlan, job: Job): ArgumentArrays {
  const { model, options } = plan;
  const layout = plan.layout as ParallelLayout & LayoutExtras;
  const vp = vpOf(layout);
  const split = pipelineSplit(model.numLayers, layout.pp);
  const uneven = split?.uneven ? [
    ['--decoder-first-pipeline-num-layers', String(split.first)],
    ['--decoder-last-pipeline-num-layers', String(split.last)],
  ] : [];
  const virtualStages = vp <= 1 ? [] : split?.uneven
    ? [['--num-virtual-stages-per-pipeline-rank', String(vp)]]
    : [['--num-layers-per-virtual-pipeline-stage', String(model.numLayers / (layout.pp * vp))]];
  const layoutArgs: MegatronArgument[] = [
    ['--tensor-model-parallel-size', String(layout.tp)],
    ['--pipeline-model-parallel-size', String(layout.pp)],
    ...uneven,
    ['--context-parallel-size', String(layout.cp)],
    ...(layout.tp > 1 ? [['--sequence-parallel']] : []),
  ];
  const recomputeLayers = layout.recomputeNumLayers ?? 1;
  const recompute = options.recomputation === Recomputation.FULL
    ? [['--recompute-granularity', 'full'], ['--recompute-method', 'uniform'], ['--recompute-num-layers', String(recomputeLayers)]]
    : options.recomputation === Recomputation.SELECTIVE ? [['--recompute-granularity', 'selective']] : [];
  const modelArgs: MegatronArgument[] = [
    ['--num-layers', String(model.numLayers)],
    ['--hidden-size', String(model.hiddenSize)],
    ['--ffn-hidden-size', String(model.ffnHiddenSize)],
    ['--num-attention-heads', String(model.numAttentionHeads)],
    ...(model.numKvHeads < model.numAttentionHeads ? [['--group-query-attention'], ['--num-query-groups', String(model.numKvHeads)]] : []),
    ['--seq-length', String(plan.sequenceLength)],
    ['--max-position-embeddings', String(Math.max(plan.sequenceLength, job.position.maxPositionEmbeddings))],
    ['--position-embedding-type', 'rope'],
    ['--rotary-base', String(job.position.rotaryBase)],
    ...(job.position.ropeScaling ? [['--use-rope-scaling']] : []),
    ['--normalization', 'RMSNorm'],
    ['--norm-epsilon', scientific(job.position.normEpsilon)],
    ['--swiglu'],
    ...(model.tiedEmbeddings ? [] : [['--untie-embeddings-and-output-weights']]),
    ['--disable-bias-linear'],
    ...(model.qkvBias ? [['--add-qkv-bias']] : []),
    ['--attention-dropout', '0.0'],
    ['--hidden-dropout', '0.0'],
    ['--bf16'],
    ['--use-flash-attn'],
    ['--attention-softmax-in-fp32'],
    ['--transformer-impl', 'transformer_engine'],
    ['--tokenizer-type', 'HuggingFaceTokenizer'],
    ['--tokenizer-model', '$TOKENIZER_MODEL'],
  ];
  const training: MegatronArgument[] = [
    ...(options.distributedOptimizer ? [['--use-distributed-optimizer'], ['--overlap-grad-reduce'], ['--overlap-param-gather']]
      : [['--overlap-grad-reduce']]),
    ...(options.fp32GradientAccumulation ? [['--accumulate-allreduce-grads-in-fp32']] : []),
    ['--micro-batch-size', String(layout.mbs)],
    ['--global-batch-size', String(plan.globalBatchSize)],
    ...recompute,
    ['--train-iters', '$TRAIN_STEPS'],
    ['--lr', '$LR'],
    ['--min-lr', '$MIN_LR'],
    ['--lr-decay-style', 'cosine'],
    ['--lr-decay-iters', '$TRAIN_STEPS'],
    ['--lr-warmup-iters', String(job.warmupSteps)],
    ['--optimizer', 'adam'],
    ['--adam-beta1', '0.9'],
    ['--adam-beta2', '0.95'],
    ['--adam-eps', '1e-8'],
    ['--weight-decay', '0.1'],
    ['--clip-grad', '1.0'],
    ['--log-interval', String(job.logInterval)],
    ['--log-throughput'],
    ['--log-straggler'],
    // Loading a checkpoint of this size takes minutes: a longer timeout than the default 10.
    ['--distributed-timeout-minutes', '30'],
  ];
  // Overlap tensor-parallel communication with GEMMs (Transformer Engine userbuffers), bootstrapped over NCCL:
  // srun gives no MPI world. On unless the planner says otherwise; TP_COMM_OVERLAP=0 turns it off at submit.
  const overlap = layout.tpCommOverlap ?? layout.tp > 1;
  const tpCommOverlap = overlap ? [['--tp-comm-overlap'], ['--tp-comm-bootstrap-backend', 'nccl']] : [];
  const checkpoint: MegatronArgument[] = [
    ['--ckpt-format', 'torch_dist'],
    ['--save-interval', '$SAVE_INTERVAL'],
    ['--async-save'],
    ['--ckpt-fully-parallel-load'],
  ];
  return { layout: layoutArgs, virtualStages, model: modelArgs, training, tpCommOverlap, checkpoint, dataBlend: job.dataWords };
}

/**
 * The arguments of a training run as megatron-launch.sh assembles them (the plan's arrays, `--data-path`, and
 * `--pretrained-checkpoint BASE --load RUN --save RUN`), for the release's rules.
 */
function asTrainingRuns(a: ArgumentArrays, job: Job): MegatronArgument[] {
  return [...a.layout, ...a.virtualStages, ...a.model, ...a.training, ...a.tpCommOverlap, ...a.checkpoint,
    ['--data-path', ...a.dataBlend], ['--save', 'RUN'], ['--load', 'RUN'],
    ...(job.baseCheckpoint ? [['--pretrained-checkpoint', job.baseCheckpoint]] : [])];
}

function quoteWord(word: string): string {
  return word.startsWith('$') ? `"${word}"` : word;
}

function array(name: string, comment: string, args: readonly MegatronArgument[]): string[] {
  return [`# ${comment}`, `${name}=(`, ...args.map((a) => `  ${a.map(quoteWord).join(' ')}`), ')'];
}

function argumentArrays(a: ArgumentArrays): string[] {
  return [
    '# pretrain_gpt.py arguments of the plan.',
    ...array('LAYOUT_ARGS', 'Parallelism (conversions use these without the virtual stages)', a.layout),
    ...array('VIRTUAL_STAGE_ARGS', 'Interleaved pipeline schedule', a.virtualStages),
    ...array('MODEL_ARGS', 'The model and its tokenizer', a.model),
    ...array('TRAINING_ARGS', 'Batch, optimizer, schedule, logging', a.training),
    ...array('TP_COMM_OVERLAP_ARGS', 'Tensor-parallel communication overlap (TP_COMM_OVERLAP=0: off)', a.tpCommOverlap),
    ...array('CHECKPOINT_ARGS', 'Checkpoints of the run (megatron-launch.sh adds --save, --load and --pretrained-checkpoint)', a.checkpoint),
    '# The data blend: weight and prefix per source (megatron-launch.sh checks every .bin/.idx).',
    'DATA_BLEND=(',
    ...pairs(a.dataBlend).map((p) => `  ${p.join(' ')}`),
    ')',
    '',
  ];
}

function pairs(words: readonly string[]): string[][] {
  const weighted = words.length % 2 === 0 && words.every((w, i) => i % 2 === 1 || /^[0-9.eE+-]+$/.test(w));
  if (!weighted) return words.map((w) => [w]);
  const out: string[][] = [];
  for (let i = 0; i < words.length; i += 2) out.push([words[i], words[i + 1]]);
  return out;
}
