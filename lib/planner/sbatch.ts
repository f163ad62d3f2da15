import { PlannerInputError, requirePositive, requirePositiveInteger } from './errors';
import { flopsPerToken } from './flops';
import { findInstanceType } from './instances';
import {
  layoutProblems, ParallelLayout, pipelineSplit, pipelineSplitText, Recomputation, validateLayout, vpOf,
} from './layout';
import { estimateMemory } from './memory';
import { MODEL_CATALOG, ModelArchitecture } from './models';
import { DEFAULT_GOODPUT, TrainingPlan } from './plan';
import { estimateThroughput, fabricForInstance } from './throughput';

/*
 * A Megatron-LM pre-training job for a TrainingPlan, as a Slurm batch script for a HyperPod cluster: the plan's
 * layout and batch, the model's architecture, asynchronous distributed checkpoints at the interval the file system
 * was sized for, the cluster's NCCL/EFA environment, experiment tracking, requeue and resume. The flags are those
 * of NVIDIA Megatron-LM core_r0.9.0, the release line of the Swallow team's scripts, and are still accepted by
 * later releases (virtual stages as --num-layers-per-virtual-pipeline-stage, flash attention as --use-flash-attn).
 * Uneven pipeline stages use --decoder-first-pipeline-num-layers and --decoder-last-pipeline-num-layers, which
 * core_r0.9.0 introduced ("uneven pipeline parallelism" in its release notes) and which it refuses with the
 * interleaved schedule (support for that came in core 0.11.0); the planner never combines the two.
 * The script also carries the plan's predictions, which throughput-probe.sh prints next to measured numbers.
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
   * Slurm time limit (`--time`), e.g. `7-00:00:00`. Fifteen minutes before it the job saves a checkpoint and
   * requeues itself.
   * @default - the partition's limit
   */
  readonly timeLimit?: string;
  /**
   * Steps between checkpoints.
   * @default - the plan's checkpoint interval divided by its step time (at least 1)
   */
  readonly saveIntervalSteps?: number;
  /**
   * Megatron `--data-path`: one dataset prefix (`…/text_document` for `text_document.bin` and `.idx`) or a blend
   * (`weight prefix weight prefix …`), on the S3-backed `<fsx>/datasets`.
   * @default `<fsx>/datasets/<runName>/text_document`
   */
  readonly dataPath?: string;
  /**
   * Hugging Face tokenizer directory or name (`--tokenizer-type HuggingFaceTokenizer`).
   * @default `<fsx>/models/<model id>`
   */
  readonly tokenizerModel?: string;
  /**
   * Checkpoint to start the first run from (continual pre-training, e.g. converted Hugging Face weights); its
   * optimizer state and RNG are not loaded. Later runs resume from their own checkpoints.
   * @default - none: train from scratch
   */
  readonly initialCheckpoint?: string;
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

/** The job saves a checkpoint and requeues itself this long before its time limit. */
const TIME_LIMIT_MARGIN_SECONDS = 900;

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const SAFE_PATH = /^\/[A-Za-z0-9._\/+@=-]*$/;
/** Characters that keep their meaning inside a double-quoted shell word. */
const SAFE_WORDS = /^[A-Za-z0-9._\/+@=:, -]+$/;

/**
 * The Slurm batch script that runs Megatron-LM's `pretrain_gpt.py` with the plan. Throws a PlannerInputError when
 * the plan breaks a layout rule (layoutProblems: TP·PP·CP·DP not the GPU count, layers not divisible by PP·VP, query
 * groups not divisible by TP, …) or when an option is not usable in a shell script.
 */
export function renderMegatronSbatch(plan: TrainingPlan, options: SbatchOptions = {}): string {
  const job = resolveJob(plan, options);
  return [
    ...header(plan, job),
    ...planComments(plan, job),
    'set -euo pipefail',
    '',
    ...settings(plan, job),
    ...checks(plan),
    ...environment(),
    ...megatronArguments(plan, job),
    ...launch(),
  ].join('\n');
}

/** Everything the script needs, validated. */
interface Job {
  readonly runName: string;
  readonly fsx: string;
  readonly partition?: string;
  readonly timeLimit?: string;
  readonly saveIntervalSteps: number;
  readonly dataPath: string;
  readonly tokenizerModel: string;
  readonly initialCheckpoint: string;
  readonly learningRate: number;
  readonly warmupSteps: number;
  readonly wandbProject: string;
  readonly position: PositionSettings;
  readonly gpusPerNode: number;
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
  const dataPath = options.dataPath ?? `${fsx}/datasets/${runName}/text_document`;
  requireMatch('dataPath', dataPath, SAFE_WORDS, 'paths and weights separated by spaces');
  const tokenizerModel = options.tokenizerModel ?? `${fsx}/models/${plan.model.id}`;
  requireMatch('tokenizerModel', tokenizerModel, SAFE_WORDS, 'a path or a Hugging Face model name');
  const initialCheckpoint = options.initialCheckpoint ?? '';
  if (initialCheckpoint) requireMatch('initialCheckpoint', initialCheckpoint, SAFE_PATH, 'an absolute path');
  const learningRate = options.learningRate ?? 1.75e-5;
  requirePositive('learningRate', learningRate);
  const warmupSteps = options.warmupSteps ?? Math.min(1000, Math.floor(plan.steps / 10));
  if (!Number.isInteger(warmupSteps) || warmupSteps < 0 || warmupSteps >= plan.steps) {
    throw new PlannerInputError('warmupSteps', `must be a whole number of steps below the run's ${plan.steps}, `
      + `got ${warmupSteps}`);
  }
  const wandbProject = options.wandbProject ?? runName;
  requireMatch('wandbProject', wandbProject, SAFE_NAME, 'letters, digits, ".", "_" and "-"');
  return {
    runName, fsx, partition: options.partition, timeLimit: options.timeLimit, saveIntervalSteps, dataPath,
    tokenizerModel, initialCheckpoint, learningRate, warmupSteps, wandbProject,
    position: positionSettings(plan.model, options.rotaryBase), gpusPerNode: instance.gpusPerNode,
  };
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
  if (plan.goodput !== DEFAULT_GOODPUT) args.push('--goodput', String(plan.goodput));
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
    '#SBATCH --requeue',
    `#SBATCH --signal=B:USR1@${TIME_LIMIT_MARGIN_SECONDS}`,
  ];
  return [
    '#!/usr/bin/env bash',
    `# Megatron-LM pre-training of ${plan.modelName} on ${plan.nodes}x ${plan.instanceType} (${plan.gpus} GPUs): `
      + `${layoutText(plan.layout)}.`,
    '# Generated by cdk-hyperpod-training from a training plan; generate it again rather than edit the layout:',
    `#   ${planCommand(plan)} --emit-sbatch FILE`,
    '# Megatron-LM flags of core_r0.9.0 and later. How to validate the cluster, calibrate and run: docs/jobs.md.',
    '#',
    `#   sbatch pretrain-${job.runName}.sbatch     start, or resume from the newest checkpoint in CKPT_DIR`,
    `#   ${job.fsx}/jobs/throughput-probe.sh -n NODES pretrain-${job.runName}.sbatch     measure a short run`,
    '#',
    '# Inputs from the environment (defaults below): MEGATRON_DIR (a Megatron-LM checkout on the shared file',
    '# system), CONTAINER_IMAGE (run in this image with pyxis; empty: the host\'s PYTHON), DATA_PATH, TOKENIZER_MODEL,',
    '# CKPT_DIR, INITIAL_CHECKPOINT, KEEP_CHECKPOINTS, LOG_DIR, WANDB_PROJECT, LR, MIN_LR, TP_COMM_OVERLAP,',
    '# AUTO_RESUME; for a probe PROBE_ITERS and MOCK_DATA. Nothing is downloaded.',
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
  return [
    '# The plan, read by throughput-probe.sh (Megatron model FLOPs, non-causal attention; speeds per GPU):',
    ...values.map(([key, value]) => `# plan.${key}=${value}`),
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
  return [
    'log() { printf \'%s [pretrain] %s\\n\' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"; }',
    'die() {',
    '  log "ERROR: $*" >&2',
    '  exit 2',
    '}',
    '',
    '# The layout and schedule of the plan.',
    `readonly TP=${l.tp} PP=${l.pp} CP=${l.cp} VP=${vpOf(l)} MICRO_BATCH=${l.mbs} GLOBAL_BATCH=${plan.globalBatchSize}`,
    `readonly GPUS_PER_NODE=${job.gpusPerNode} TRAIN_STEPS=${plan.steps} SAVE_INTERVAL=${job.saveIntervalSteps}`,
    `readonly FSX=${job.fsx} RUN_NAME=${job.runName}`,
    '',
    ': "${MEGATRON_DIR:=$FSX/Megatron-LM}"',
    ': "${CONTAINER_IMAGE:=}"',
    ': "${PYTHON:=python}"',
    `: "\${DATA_PATH:=${job.dataPath}}"`,
    ': "${DATA_CACHE_PATH:=$FSX/cache/$RUN_NAME}"',
    `: "\${TOKENIZER_MODEL:=${job.tokenizerModel}}"`,
    ': "${CKPT_DIR:=$FSX/checkpoints/$RUN_NAME}"',
    `: "\${INITIAL_CHECKPOINT:=${job.initialCheckpoint}}"`,
    '# The file system was sized to hold this many checkpoints; older ones are deleted (0: keep all).',
    `: "\${KEEP_CHECKPOINTS:=${plan.checkpointsRetained}}"`,
    ': "${LOG_DIR:=$FSX/logs/$RUN_NAME}"',
    `: "\${WANDB_PROJECT:=${job.wandbProject}}"`,
    `: "\${LR:=${scientific(job.learningRate)}}"`,
    `: "\${MIN_LR:=${scientific(job.learningRate / 10)}}"`,
    ': "${TP_COMM_OVERLAP:=1}"',
    ': "${AUTO_RESUME:=1}"',
    ': "${NCCL_ENV_FILE:=/etc/hyperpod/nccl-env.sh}"',
    ': "${PROBE_ITERS:=}"',
    ': "${MOCK_DATA:=0}"',
    ': "${PRUNE_INTERVAL:=60}"',
    '',
  ];
}

function checks(plan: TrainingPlan): string[] {
  const vp = vpOf(plan.layout) > 1 ? [
    'micro_batches=$((GLOBAL_BATCH / (MICRO_BATCH * dp)))',
    '((micro_batches % PP == 0)) ||',
    '  die "the interleaved schedule (VP $VP) needs the $micro_batches micro-batches per step on $nodes nodes to be a multiple of PP $PP"',
  ] : [];
  return [
    '[[ -n "${SLURM_JOB_ID:-}" && -n "${SLURM_JOB_NUM_NODES:-}" ]] || die "submit this script with sbatch: it needs a Slurm allocation"',
    '[[ -f "$MEGATRON_DIR/pretrain_gpt.py" ]] ||',
    '  die "MEGATRON_DIR=$MEGATRON_DIR has no pretrain_gpt.py: set MEGATRON_DIR to a Megatron-LM checkout (core_r0.9.0 or later) on the shared file system"',
    '[[ "$KEEP_CHECKPOINTS" =~ ^[0-9]+$ ]] || die "KEEP_CHECKPOINTS must be a number of checkpoints (0: keep all), got \'$KEEP_CHECKPOINTS\'"',
    'nodes=$SLURM_JOB_NUM_NODES',
    'gpus=$((nodes * GPUS_PER_NODE))',
    '((gpus % (TP * PP * CP) == 0)) ||',
    '  die "$nodes nodes ($gpus GPUs) cannot run TP·PP·CP = $((TP * PP * CP)) GPUs per model replica: use a node count whose GPUs are a multiple of it"',
    'dp=$((gpus / (TP * PP * CP)))',
    '((GLOBAL_BATCH % (MICRO_BATCH * dp) == 0)) ||',
    '  die "the global batch $GLOBAL_BATCH is not divisible by micro-batch·DP = $MICRO_BATCH·$dp on $nodes nodes"',
    ...vp,
    'if [[ "$MOCK_DATA" == 1 ]]; then',
    '  DATA_ARGS=(--mock-data)',
    'else',
    '  read -r -a data_words <<<"$DATA_PATH"',
    '  for word in "${data_words[@]}"; do',
    '    [[ "$word" =~ ^[0-9.eE+-]+$ ]] && continue # a blend weight',
    '    [[ -f "$word.bin" && -f "$word.idx" ]] ||',
    '      die "dataset $word.bin/.idx not found: tokenize with tools/preprocess_data.py into $FSX/datasets (the S3 data repository), then warm it with: sudo preload $FSX/datasets/..."',
    '  done',
    '  DATA_ARGS=(--data-path "${data_words[@]}" --split "990,10,0" --data-cache-path "$DATA_CACHE_PATH")',
    'fi',
    '[[ -e "$TOKENIZER_MODEL" ]] || die "tokenizer $TOKENIZER_MODEL not found: copy the model\'s Hugging Face tokenizer files there"',
    'log "job $SLURM_JOB_ID: $nodes nodes, TP$TP PP$PP CP$CP DP$dp VP$VP, micro-batch $MICRO_BATCH, global batch $GLOBAL_BATCH"',
    '',
  ];
}

function environment(): string[] {
  return [
    '# NCCL/EFA settings of the cluster (lifecycle step 40-nccl-env).',
    'if [[ -r "$NCCL_ENV_FILE" ]]; then',
    '  # shellcheck source=/dev/null',
    '  . "$NCCL_ENV_FILE"',
    'else',
    '  log "WARNING: $NCCL_ENV_FILE not found: no NCCL/EFA settings from the cluster"',
    'fi',
    '# One CUDA work queue keeps tensor-parallel communication ordered with compute, as sequence parallelism needs.',
    'export CUDA_DEVICE_MAX_CONNECTIONS=1 TORCH_NCCL_AVOID_RECORD_STREAMS=1',
    '# Rendezvous on the batch host: it lives as long as the job, also when HyperPod replaces a failed node.',
    'MASTER_ADDR=$(hostname)',
    'MASTER_PORT=$((20000 + SLURM_JOB_ID % 20000))',
    'export MASTER_ADDR MASTER_PORT',
    '',
    'if [[ -n "$PROBE_ITERS" ]]; then',
    '  [[ "$PROBE_ITERS" =~ ^[1-9][0-9]*$ ]] || die "PROBE_ITERS must be a positive number of steps, got \'$PROBE_ITERS\'"',
    '  exp_name="$RUN_NAME-probe-${nodes}n-$SLURM_JOB_ID"',
    'else',
    '  exp_name=$RUN_NAME',
    'fi',
    '# Experiment tracking: the key comes from Secrets Manager through the instance role, never from a file.',
    'if [[ -n "$WANDB_PROJECT" && -z "${WANDB_API_KEY:-}" ]] && command -v experiment-tracking-env >/dev/null 2>&1; then',
    '  if tracking=$(experiment-tracking-env); then',
    '    eval "$tracking"',
    '  fi',
    'fi',
    'mkdir -p "$LOG_DIR"',
    'TRACKING_ARGS=(--tensorboard-dir "$LOG_DIR/tensorboard")',
    'if [[ -n "$WANDB_PROJECT" && -n "${WANDB_API_KEY:-}" ]]; then',
    '  TRACKING_ARGS+=(--wandb-project "$WANDB_PROJECT" --wandb-exp-name "$exp_name" --wandb-save-dir "$LOG_DIR/wandb")',
    '  log "Weights & Biases: project $WANDB_PROJECT, run $exp_name"',
    'else',
    '  log "Weights & Biases: off (no WANDB_API_KEY); TensorBoard in $LOG_DIR/tensorboard"',
    'fi',
    '',
  ];
}

function megatronArguments(plan: TrainingPlan, job: Job): string[] {
  const { model, layout, options } = plan;
  const vp = vpOf(layout);
  const split = pipelineSplit(model.numLayers, layout.pp);
  const parallel = [
    `--tensor-model-parallel-size ${layout.tp}`,
    `--pipeline-model-parallel-size ${layout.pp}`,
    ...(split?.uneven ? [
      `# Uneven stages, ${pipelineSplitText(split)} layers: Megatron-LM core_r0.9.0 or later, no interleaving.`,
      `--decoder-first-pipeline-num-layers ${split.first}`,
      `--decoder-last-pipeline-num-layers ${split.last}`,
    ] : []),
    ...(vp > 1 ? [`--num-layers-per-virtual-pipeline-stage ${model.numLayers / (layout.pp * vp)}`] : []),
    `--context-parallel-size ${layout.cp}`,
    ...(layout.tp > 1 ? ['--sequence-parallel'] : []),
    ...(options.distributedOptimizer ? ['--use-distributed-optimizer', '--overlap-grad-reduce', '--overlap-param-gather']
      : ['--overlap-grad-reduce']),
    `--micro-batch-size ${layout.mbs}`,
    `--global-batch-size ${plan.globalBatchSize}`,
  ];
  const recompute = options.recomputation === Recomputation.FULL
    ? ['--recompute-granularity full', '--recompute-method uniform', '--recompute-num-layers 1']
    : options.recomputation === Recomputation.SELECTIVE ? ['--recompute-granularity selective'] : [];
  const architecture = [
    `--num-layers ${model.numLayers}`,
    `--hidden-size ${model.hiddenSize}`,
    `--ffn-hidden-size ${model.ffnHiddenSize}`,
    `--num-attention-heads ${model.numAttentionHeads}`,
    ...(model.numKvHeads < model.numAttentionHeads ? ['--group-query-attention', `--num-query-groups ${model.numKvHeads}`] : []),
    `--seq-length ${plan.sequenceLength}`,
    `--max-position-embeddings ${Math.max(plan.sequenceLength, job.position.maxPositionEmbeddings)}`,
    '--position-embedding-type rope',
    `--rotary-base ${job.position.rotaryBase}`,
    ...(job.position.ropeScaling ? ['--use-rope-scaling'] : []),
    '--normalization RMSNorm',
    `--norm-epsilon ${scientific(job.position.normEpsilon)}`,
    '--swiglu',
    ...(model.tiedEmbeddings ? [] : ['--untie-embeddings-and-output-weights']),
    '--disable-bias-linear',
    ...(model.qkvBias ? ['--add-qkv-bias'] : []),
    '--attention-dropout 0.0',
    '--hidden-dropout 0.0',
    '--bf16',
    '--use-flash-attn',
    '--attention-softmax-in-fp32',
    ...(options.fp32GradientAccumulation ? ['--accumulate-allreduce-grads-in-fp32'] : []),
    '--transformer-impl transformer_engine',
  ];
  const schedule = [
    '--train-iters "$TRAIN_STEPS"',
    '--lr "$LR"',
    '--min-lr "$MIN_LR"',
    '--lr-decay-style cosine',
    '--lr-decay-iters "$TRAIN_STEPS"',
    `--lr-warmup-iters ${job.warmupSteps}`,
    '--optimizer adam',
    '--adam-beta1 0.9',
    '--adam-beta2 0.95',
    '--adam-eps 1e-8',
    '--weight-decay 0.1',
    '--clip-grad 1.0',
  ];
  const io = [
    '--tokenizer-type HuggingFaceTokenizer',
    '--tokenizer-model "$TOKENIZER_MODEL"',
    '--ckpt-format torch_dist',
    '--log-interval 1',
    '--log-throughput',
    '# Loading a checkpoint of this size takes minutes: a longer timeout than the default 10.',
    '--distributed-timeout-minutes 30',
  ];
  const indent = (args: string[]) => args.map((a) => `  ${a}`);
  const tpOverlap = layout.tp > 1 ? [
    '# Overlap tensor-parallel communication with GEMMs (Transformer Engine userbuffers); TP_COMM_OVERLAP=0 turns',
    '# it off if its initialisation fails with your container.',
    'if [[ "$TP_COMM_OVERLAP" == 1 ]]; then',
    '  MEGATRON_ARGS+=(--tp-comm-overlap)',
    'fi',
  ] : [];
  return [
    'MEGATRON_ARGS=(',
    '  # Parallelism of the plan',
    ...indent(parallel),
    ...(recompute.length > 0 ? ['  # Activation recomputation', ...indent(recompute)] : []),
    `  # ${model.name}`,
    ...indent(architecture),
    '  # Schedule and optimizer',
    ...indent(schedule),
    '  # Data, checkpoints, logging',
    ...indent(io),
    ')',
    'MEGATRON_ARGS+=("${DATA_ARGS[@]}" "${TRACKING_ARGS[@]}")',
    ...tpOverlap,
    '',
  ];
}

function launch(): string[] {
  return [
    'if [[ -n "$PROBE_ITERS" ]]; then',
    '  # A throughput probe: the first PROBE_ITERS steps of the real schedule; no checkpoint is loaded or saved.',
    '  MEGATRON_ARGS+=(--exit-interval "$PROBE_ITERS" --eval-iters 0)',
    '  log "throughput probe: $PROBE_ITERS steps"',
    'else',
    '  mkdir -p "$CKPT_DIR"',
    '  MEGATRON_ARGS+=(--save "$CKPT_DIR" --save-interval "$SAVE_INTERVAL" --async-save --ckpt-fully-parallel-load',
    '    --eval-interval 1000 --eval-iters 10 --exit-signal-handler)',
    '  if [[ -f "$CKPT_DIR/latest_checkpointed_iteration.txt" ]]; then',
    '    log "resuming from $CKPT_DIR, iteration $(<"$CKPT_DIR/latest_checkpointed_iteration.txt")"',
    '    MEGATRON_ARGS+=(--load "$CKPT_DIR")',
    '  elif [[ -n "$INITIAL_CHECKPOINT" ]]; then',
    '    [[ -d "$INITIAL_CHECKPOINT" ]] || die "INITIAL_CHECKPOINT=$INITIAL_CHECKPOINT is not a directory"',
    '    log "starting from the weights in $INITIAL_CHECKPOINT (fresh optimizer state)"',
    '    MEGATRON_ARGS+=(--load "$INITIAL_CHECKPOINT" --no-load-optim --no-load-rng)',
    '  else',
    '    log "no checkpoint in $CKPT_DIR: training from scratch"',
    '  fi',
    '  log "checkpoints every $SAVE_INTERVAL steps to $CKPT_DIR"',
    'fi',
    '',
    'SRUN_ARGS=(--ntasks-per-node="$GPUS_PER_NODE" --kill-on-bad-exit=1)',
    '# HyperPod auto-resume: after a hardware fault, replace the node and run the step again (it loads the newest checkpoint).',
    'if [[ "$AUTO_RESUME" == 1 && -z "$PROBE_ITERS" ]]; then',
    '  SRUN_ARGS+=(--auto-resume=1)',
    'fi',
    'if [[ -n "$CONTAINER_IMAGE" ]]; then',
    '  SRUN_ARGS+=(--container-image="$CONTAINER_IMAGE" --container-mounts="$FSX:$FSX")',
    'fi',
    '',
    '# exported DIR: every file of the checkpoint is archived in the S3 data repository and unchanged since (lfs',
    '# hsm_state: "archived" without "dirty"). Only those may leave FSx: the copy in S3 is then the checkpoint.',
    'exported() {',
    '  local states',
    '  states=$(find "$1" -type f -print0 | xargs -0 -r lfs hsm_state 2>/dev/null) || return 1',
    '  [[ -n "$states" ]] && ! grep -v -q "archived" <<<"$states" && ! grep -q "dirty" <<<"$states"',
    '}',
    '',
    '# prune_checkpoints: keep the newest KEEP_CHECKPOINTS complete checkpoints on FSx. A checkpoint is complete once',
    '# latest_checkpointed_iteration.txt names its iteration or a later one (Megatron writes it after the save); an',
    '# older one is deleted from FSx only once it is exported to S3, where it stays (the reference stack exports new',
    '# and changed files, not deletions).',
    'prune_checkpoints() {',
    '  local latest dir complete=() i',
    '  if ((KEEP_CHECKPOINTS == 0)) || [[ ! -f "$CKPT_DIR/latest_checkpointed_iteration.txt" ]]; then',
    '    return 0',
    '  fi',
    '  latest=$(<"$CKPT_DIR/latest_checkpointed_iteration.txt")',
    '  [[ "$latest" =~ ^[0-9]+$ ]] || return 0',
    '  for dir in "$CKPT_DIR"/iter_*; do',
    '    if [[ -d "$dir" && "${dir##*/}" =~ ^iter_([0-9]+)$ ]] && ((10#${BASH_REMATCH[1]} <= 10#$latest)); then',
    '      complete+=("$dir")',
    '    fi',
    '  done',
    '  for ((i = 0; i < ${#complete[@]} - KEEP_CHECKPOINTS; i++)); do',
    '    if exported "${complete[i]}"; then',
    '      log "removing checkpoint ${complete[i]} from FSx: it is in S3 (keeping the newest $KEEP_CHECKPOINTS here)"',
    '      rm -rf -- "${complete[i]}"',
    '    else',
    '      log "keeping checkpoint ${complete[i]} on FSx: not yet exported to S3"',
    '    fi',
    '  done',
    '}',
    '',
    '# Shortly before the time limit (sbatch --signal): let Megatron save a checkpoint and stop, then requeue.',
    'requeue=0',
    'interrupted=0',
    '# shellcheck disable=SC2317 # run by the trap',
    'on_time_limit() {',
    '  log "the time limit is near: stopping after a checkpoint, then requeueing"',
    '  requeue=1',
    '  interrupted=1',
    '  scancel --signal=TERM "$SLURM_JOB_ID"',
    '}',
    'trap on_time_limit USR1',
    '',
    '# One task per GPU; each takes its rank from Slurm.',
    '# shellcheck disable=SC2016 # expanded by each task',
    'TASK=\'export RANK=$SLURM_PROCID LOCAL_RANK=$SLURM_LOCALID WORLD_SIZE=$SLURM_NTASKS; exec "$@"\'',
    'srun "${SRUN_ARGS[@]}" bash -c "$TASK" task "$PYTHON" "$MEGATRON_DIR/pretrain_gpt.py" "${MEGATRON_ARGS[@]}" &',
    'srun_pid=$!',
    'pruner_pid=',
    'if [[ -z "$PROBE_ITERS" ]] && ((KEEP_CHECKPOINTS > 0)); then',
    '  # sleep gets no output stream of the job: it may outlive the pruner by one interval.',
    '  while sleep "$PRUNE_INTERVAL" >/dev/null 2>&1; do prune_checkpoints; done &',
    '  pruner_pid=$!',
    'fi',
    'while :; do',
    '  interrupted=0',
    '  wait "$srun_pid" && status=0 || status=$?',
    '  ((interrupted)) || break # a signal, not the end of the step',
    'done',
    'trap - USR1',
    'if [[ -n "$pruner_pid" ]]; then',
    '  kill "$pruner_pid" 2>/dev/null || true',
    '  prune_checkpoints',
    'fi',
    'if ((requeue)); then',
    '  log "requeueing job $SLURM_JOB_ID: the next run resumes from $CKPT_DIR"',
    '  scontrol requeue "$SLURM_JOB_ID"',
    '  exit 0',
    'fi',
    '((status == 0)) || log "training step failed with exit code $status"',
    'exit "$status"',
    '',
  ];
}
