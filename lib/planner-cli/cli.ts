import { chmodSync, writeFileSync } from 'node:fs';
import { PERSISTENT_2_PER_UNIT_THROUGHPUTS } from '../catalog/fsx-lustre';
import { nearest, PlannerInputError } from '../planner/errors';
import { isParseArgsError, Options, parseOptions, Values } from './args';
import { QuotaClient, runQuotasCommand } from './quota-check';
import { findGpu, gpuIds } from '../planner/gpus';
import { findInstanceType, instanceTypeNames } from '../planner/instances';
import { ParallelLayout, Recomputation, TrainingOptions, validateLayout } from '../planner/layout';
import { DEFAULT_MEMORY_THRESHOLD, estimateMemory, memoryVerdict } from '../planner/memory';
import { defineModel, findModel, ModelArchitecture, modelIds } from '../planner/models';
import { DEFAULT_FSX_PRICE_PER_GB_MONTH } from '../planner/fsx-sizing';
import { noLayoutFits, PlanInput, planTraining } from '../planner/plan';
import { LayoutPin, searchLayouts } from '../planner/search';
import { ClusterFabric, defaultFabric, estimateThroughput, fabricForInstance } from '../planner/throughput';
import { DataMixture, planDataMixture, PlannedSource, renderDataMixture } from '../training/data-mixture';
import { renderMegatronSbatch } from '../training/megatron-launch';
import {
  EstimateReport, estimateJson, planJson, renderEstimate, renderPlan, renderSearch, searchJson,
} from './cli-render';
import { readDataMixture } from './data-mixture-file';
import { findProfile, profileNames, profilePlanInput } from './profiles';

/** Where the CLI writes. */
export interface CliOutput {
  stdout(text: string): void;
  stderr(text: string): void;
}

/** Exit codes: 0 done, 1 unexpected failure, 2 the input cannot be planned (message says what is allowed). */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_BAD_INPUT = 2;

const str = { type: 'string' } as const;
const flag = { type: 'boolean' } as const;

const MODEL_OPTIONS: Options = {
  'model': str, 'hidden': str, 'ffn': str, 'layers': str, 'heads': str, 'kv-heads': str, 'vocab': str, 'tied': flag,
};
const TRAINING_OPTIONS: Options = {
  'recompute': str, 'no-distributed-optimizer': flag, 'no-fp32-grad': flag, 'pad-vocab': flag, 'threshold': str,
  'tp-comm-overlap': flag, 'recompute-num-layers': str, 'fp8': flag, 'grad-reduce-in-bf16': flag,
  'json': flag, 'help': flag,
};
const COMMAND_OPTIONS: Record<string, Options> = {
  estimate: {
    ...MODEL_OPTIONS, ...TRAINING_OPTIONS, 'gpu': str, 'instance': str, 'gpus-per-node': str, 'gpus': str,
    'tp': str, 'pp': str, 'cp': str, 'dp': str, 'mbs': str, 'vp': str, 'seq': str, 'gbs': str,
  },
  search: {
    ...MODEL_OPTIONS, ...TRAINING_OPTIONS, 'gpu': str, 'instance': str, 'gpus': str, 'gpus-per-node': str,
    'seq': str, 'gbs': str, 'top': str, 'all': flag, 'max-mbs': str, 'max-vp': str,
  },
  plan: {
    ...MODEL_OPTIONS, ...TRAINING_OPTIONS, 'instance': str, 'nodes': str, 'tokens': str, 'seq': str, 'gbs': str,
    'price-per-node-hour': str, 'fsx-tib': str, 'fsx-throughput': str, 'goodput': str,
    'checkpoint-interval-min': str, 'failures-per-node-hour': str, 'restart-min': str, 'write-interference': str,
    'staging-gbps': str, 'max-mbs': str, 'max-vp': str, 'measured-tflops': str, 'emit-sbatch': str,
    'tp': str, 'pp': str, 'cp': str, 'dp': str, 'vp': str, 'mbs': str, 'profile': str, 'data-mixture': str,
    'fsx-price': str,
  },
};

/** Every command, `quotas` (quota-check.ts) included. */
const COMMAND_NAMES = [...Object.keys(COMMAND_OPTIONS), 'quotas'];

/**
 * Runs any command, `quotas` included: it may call the Service Quotas API (with --check), so it is asynchronous.
 * `client` replaces the AWS client in tests.
 */
export async function runCommand(argv: string[], out: CliOutput, client?: QuotaClient): Promise<number> {
  return argv[0] === 'quotas' ? runQuotasCommand(argv.slice(1), out, client) : runCli(argv, out);
}

/** Runs `cdk-hyperpod-plan <command> [options]` (the planning commands) and returns the exit code. */
export function runCli(argv: string[], out: CliOutput): number {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    out.stdout(`${usage()}\n`);
    return EXIT_OK;
  }
  const options = COMMAND_OPTIONS[command];
  if (!options) {
    out.stderr(`error: unknown command '${command}'${nearest(command, COMMAND_NAMES)}; commands: `
      + `${COMMAND_NAMES.join(', ')}\n\n${usage()}\n`);
    return EXIT_BAD_INPUT;
  }
  try {
    const values = parseOptions(rest, options);
    if (values.help) {
      out.stdout(`${HELP[command]}\n`);
      return EXIT_OK;
    }
    out.stdout(`${COMMANDS[command](values)}\n`);
    return EXIT_OK;
  } catch (e) {
    return reportError(e, command, out);
  }
}

function reportError(e: unknown, command: string, out: CliOutput): number {
  if (e instanceof PlannerInputError || isParseArgsError(e)) {
    out.stderr(`error: ${(e as Error).message}\n(see: cdk-hyperpod-plan ${command} --help)\n`);
    return EXIT_BAD_INPUT;
  }
  out.stderr(`error: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  return EXIT_FAILURE;
}

const COMMANDS: Record<string, (values: Values) => string> = {
  estimate: runEstimate,
  search: runSearch,
  plan: runPlan,
};

function runEstimate(values: Values): string {
  const model = modelFrom(values);
  const fabric = fabricFrom(values);
  const layout: ParallelLayout = {
    tp: integer(values, 'tp', 1), pp: integer(values, 'pp', 1), cp: integer(values, 'cp', 1),
    dp: integer(values, 'dp', 1), mbs: integer(values, 'mbs', 1), vp: integer(values, 'vp', 1),
  };
  const sequenceLength = integer(values, 'seq', 8192);
  const globalBatchSize = integer(values, 'gbs', 1024);
  const gpus = integer(values, 'gpus', layout.tp * layout.pp * layout.cp * layout.dp);
  validateLayout(model, layout, { sequenceLength, globalBatchSize, totalGpus: gpus, gpusPerNode: fabric.gpusPerNode,
    embeddingAndLossInSplit: true });
  const options = trainingOptions(values);
  const threshold = number(values, 'threshold', DEFAULT_MEMORY_THRESHOLD);
  const common = { model, layout, sequenceLength, globalBatchSize, options };
  const memory = estimateMemory(common);
  const report: EstimateReport = {
    model, fabric, layout, sequenceLength, globalBatchSize, memory,
    verdict: memoryVerdict(memory.totalGiB, fabric.gpu, threshold),
    fits80: memoryVerdict(memory.totalGiB, fabric.gpu).fits,
    throughput: estimateThroughput({ ...common, fabric }),
  };
  return values.json ? JSON.stringify(estimateJson(report), null, 2) : renderEstimate(report);
}

function runSearch(values: Values): string {
  const model = modelFrom(values);
  const fabric = fabricFrom(values);
  const gpus = required(values, 'gpus', integer);
  const sequenceLength = integer(values, 'seq', 8192);
  const globalBatchSize = integer(values, 'gbs', 1024);
  const threshold = number(values, 'threshold', DEFAULT_MEMORY_THRESHOLD);
  const candidates = searchLayouts({
    model, fabric, totalGpus: gpus, sequenceLength, globalBatchSize, options: trainingOptions(values),
    memoryThreshold: threshold, maxMbs: integer(values, 'max-mbs', 16), maxVp: integer(values, 'max-vp', 8),
    includeNonFitting: !!values.all,
  });
  if (candidates.length === 0) {
    // The error, and exit code, of `plan` (--all lists the valid layouts that do not fit, when there are any).
    const node = values.instance === undefined ? `${fabric.gpusPerNode} per node`
      : findInstanceType(text(values, 'instance')).name;
    throw noLayoutFits(model, gpus, `${fabric.gpu.name} GPUs (${node})`, sequenceLength);
  }
  const top = candidates.slice(0, values.top !== undefined ? integer(values, 'top') : values.json ? undefined : 10);
  return values.json ? JSON.stringify(searchJson({ model, fabric, gpus, sequenceLength, globalBatchSize, threshold,
    found: candidates.length, shown: top }), null, 2) : renderSearch(model, fabric, top, candidates.length);
}

function runPlan(values: Values): string {
  const profile = values.profile === undefined ? undefined : findProfile(text(values, 'profile'));
  const base = profile ? profilePlanInput(profile) : {};
  const plan = planTraining(planInputFrom(values, base));
  const mixture = dataMixtureFrom(values, profile?.dataMixture);
  const planned = mixture === undefined ? undefined : planDataMixture(mixture, plan.tokens);
  const sbatchFile = values['emit-sbatch'] === undefined ? undefined : text(values, 'emit-sbatch');
  if (sbatchFile !== undefined) writeSbatch(sbatchFile, renderMegatronSbatch(plan, { dataMixture: mixture }));
  if (values.json) return JSON.stringify(planJson(plan, planned), null, 2);
  const note = sbatchFile === undefined ? '' : `\n\nMegatron-LM launch script: ${sbatchFile}`;
  return renderPlan(plan) + (planned === undefined ? '' : mixtureText(planned, plan.tokens)) + note;
}

/** The plan's inputs: the flags given, else the profile's (`--profile`), else the defaults. */
function planInputFrom(values: Values, base: Partial<PlanInput>): PlanInput {
  const pick = <T>(name: string, read: (v: Values, n: string) => T, fallback: T | undefined): T => {
    if (values[name] !== undefined) return read(values, name);
    if (fallback === undefined) throw new PlannerInputError(name, 'is required');
    return fallback;
  };
  const modelGiven = Object.keys(MODEL_OPTIONS).some((k) => values[k] !== undefined);
  const trainingGiven = Object.keys(TRAINING_OPTIONS).some((k) => !['json', 'help', 'threshold'].includes(k)
    && values[k] !== undefined);
  return {
    model: modelGiven || base.model === undefined ? modelFrom(values) : base.model,
    instanceType: pick('instance', text, base.instanceType), nodes: pick('nodes', integer, base.nodes),
    tokens: pick('tokens', number, base.tokens),
    sequenceLength: pick('seq', integer, base.sequenceLength ?? 8192),
    globalBatchSize: pick('gbs', integer, base.globalBatchSize ?? 1024),
    pricePerNodeHour: optionalNumber(values, 'price-per-node-hour'), fsxPricePerGBMonth: fsxPrices(values),
    goodput: optionalNumber(values, 'goodput') ?? base.goodput,
    options: trainingGiven || base.options === undefined ? trainingOptions(values) : base.options,
    memoryThreshold: number(values, 'threshold', DEFAULT_MEMORY_THRESHOLD),
    maxMbs: integer(values, 'max-mbs', 16), maxVp: integer(values, 'max-vp', 8),
    fsxCapacityTiB: optionalNumber(values, 'fsx-tib'), fsxPerUnitThroughputMBps: number(values, 'fsx-throughput', 250),
    checkpointIntervalMinutes: optionalNumber(values, 'checkpoint-interval-min') ?? base.checkpointIntervalMinutes,
    checkpointsRetained: base.checkpointsRetained,
    failuresPerNodeHour: optionalNumber(values, 'failures-per-node-hour'),
    restartMinutes: optionalNumber(values, 'restart-min'), writeInterference: optionalNumber(values, 'write-interference'),
    stagingGBpsPerGpu: optionalNumber(values, 'staging-gbps'),
    measuredTflopsPerGpu: optionalNumber(values, 'measured-tflops') ?? base.measuredTflopsPerGpu,
    pinnedLayout: pinFrom(values, base.pinnedLayout),
  };
}

/**
 * `--fsx-price 125=0.145,500=0.34`: FSx PERSISTENT_2 prices per GB-month by per-unit throughput, for your Region and
 * date; the tiers not given keep the planner's defaults (DEFAULT_FSX_PRICE_PER_GB_MONTH).
 */
function fsxPrices(values: Values): Record<number, number> | undefined {
  if (values['fsx-price'] === undefined) return undefined;
  const prices: Record<number, number> = { ...DEFAULT_FSX_PRICE_PER_GB_MONTH };
  for (const pair of text(values, 'fsx-price').split(',')) {
    const [tier, price, extra] = pair.split('=').map((s) => s.trim());
    const value = Number(price);
    if (extra !== undefined || !PERSISTENT_2_PER_UNIT_THROUGHPUTS.includes(Number(tier)) || price === undefined
      || price === '' || !(value > 0) || !Number.isFinite(value)) {
      throw new PlannerInputError('fsx-price', `must be TIER=PRICE pairs separated by commas, TIER one of `
        + `${PERSISTENT_2_PER_UNIT_THROUGHPUTS.join(', ')} MB/s/TiB and PRICE per GB-month above 0, got '${pair}'`);
    }
    prices[Number(tier)] = value;
  }
  return prices;
}

/** The sizes pinned by flags, over those the profile's plan pinned. */
function pinFrom(values: Values, base: LayoutPin | undefined): LayoutPin {
  const sizes = ['tp', 'pp', 'cp', 'dp', 'vp', 'mbs'] as const;
  return Object.fromEntries(sizes.map((s) => [s, optionalInteger(values, s) ?? base?.[s]])) as LayoutPin;
}

/** `--data-mixture FILE`, else the profile's mixture; none without either. */
function dataMixtureFrom(values: Values, profileMixture: DataMixture | undefined): DataMixture | undefined {
  return values['data-mixture'] === undefined ? profileMixture : readDataMixture(text(values, 'data-mixture'));
}

function mixtureText(planned: readonly PlannedSource[], tokens: number): string {
  const indent = (block: string) => block.split('\n').map((l) => `  ${l}`).join('\n');
  return `\n\nData mixture: ${(tokens / 1e9).toFixed(1)}B tokens (weighted --data-path of the launch script)\n`
    + indent(renderDataMixture(planned));
}

/** Writes the generated launch script, executable; a path that cannot be written is an input error. */
function writeSbatch(file: string, script: string): void {
  try {
    writeFileSync(file, script);
    chmodSync(file, 0o755);
  } catch (e) {
    throw new PlannerInputError('emit-sbatch', `cannot write '${file}': ${(e as Error).message}`);
  }
}

/** A catalog model (`--model`) or a custom architecture from the six size flags. */
function modelFrom(values: Values): ModelArchitecture {
  const sizeFlags = ['hidden', 'ffn', 'layers', 'heads', 'kv-heads', 'vocab'];
  const given = sizeFlags.filter((f) => values[f] !== undefined);
  if (values.model !== undefined && given.length > 0) {
    throw new PlannerInputError('model', 'takes either --model or the architecture flags, not both');
  }
  if (values.model !== undefined) return findModel(text(values, 'model'));
  if (given.length === 0) {
    throw new PlannerInputError('model', `is required: --model (one of ${modelIds().join(', ')}) or `
      + '--hidden --ffn --layers --heads --kv-heads --vocab [--tied]');
  }
  const missing = sizeFlags.filter((f) => values[f] === undefined);
  if (missing.length > 0) {
    throw new PlannerInputError('model', `needs all architecture flags; missing ${missing.map((f) => `--${f}`).join(' ')}`);
  }
  return defineModel({
    id: 'custom', name: 'custom model', hiddenSize: integer(values, 'hidden'), ffnHiddenSize: integer(values, 'ffn'),
    numLayers: integer(values, 'layers'), numAttentionHeads: integer(values, 'heads'),
    numKvHeads: integer(values, 'kv-heads'), vocabSize: integer(values, 'vocab'), tiedEmbeddings: !!values.tied,
  });
}

/** `--instance` gives GPU, node size and network; `--gpu` uses the GPU's reference node (`--gpus-per-node` overrides). */
function fabricFrom(values: Values): ClusterFabric {
  if (values.instance !== undefined) {
    const fabric = fabricForInstance(findInstanceType(text(values, 'instance')));
    if (values.gpu !== undefined && findGpu(text(values, 'gpu')).type !== fabric.gpu.type) {
      throw new PlannerInputError('gpu', `conflicts with --instance, which has ${fabric.gpu.type}`);
    }
    const perNode = optionalNumber(values, 'gpus-per-node');
    if (perNode !== undefined && perNode !== fabric.gpusPerNode) {
      throw new PlannerInputError('gpus-per-node', `conflicts with --instance, which has ${fabric.gpusPerNode}`);
    }
    return fabric;
  }
  if (values.gpu === undefined) {
    throw new PlannerInputError('gpu', `is required (or --instance): one of ${gpuIds().join(', ')}`);
  }
  const perNode = values['gpus-per-node'] === undefined ? undefined : integer(values, 'gpus-per-node');
  return defaultFabric(findGpu(text(values, 'gpu')), perNode);
}

function trainingOptions(values: Values): TrainingOptions {
  return {
    distributedOptimizer: !values['no-distributed-optimizer'],
    fp32GradientAccumulation: !values['no-fp32-grad'],
    recomputation: recomputation(values),
    padVocabulary: !!values['pad-vocab'],
    tpCommOverlap: !!values['tp-comm-overlap'],
    recomputeNumLayers: values['recompute-num-layers'] === undefined ? undefined
      : integer(values, 'recompute-num-layers'),
    fp8: !!values.fp8,
    gradientReduceInBf16: !!values['grad-reduce-in-bf16'],
  };
}

function recomputation(values: Values): Recomputation {
  const value = values.recompute === undefined ? Recomputation.NONE : text(values, 'recompute');
  const allowed = Object.values(Recomputation) as string[];
  if (!allowed.includes(value)) {
    throw new PlannerInputError('recompute', `must be one of ${allowed.join(', ')}, got '${value}'`
      + nearest(value, allowed));
  }
  return value as Recomputation;
}

function text(values: Values, name: string): string {
  return String(values[name]);
}

function number(values: Values, name: string, fallback?: number): number {
  const raw = values[name];
  if (raw === undefined && fallback !== undefined) return fallback;
  const value = Number(raw);
  if (raw === undefined || String(raw).trim() === '' || !Number.isFinite(value)) {
    throw new PlannerInputError(name, `must be a number, got '${raw ?? ''}'`);
  }
  return value;
}

function optionalNumber(values: Values, name: string): number | undefined {
  return values[name] === undefined ? undefined : number(values, name);
}

function optionalInteger(values: Values, name: string): number | undefined {
  return values[name] === undefined ? undefined : integer(values, name);
}

function integer(values: Values, name: string, fallback?: number): number {
  const value = number(values, name, fallback);
  if (!Number.isInteger(value) || value < 1) throw new PlannerInputError(name, `must be a positive integer, got ${value}`);
  return value;
}

function required<T>(values: Values, name: string, read: (v: Values, n: string) => T): T {
  if (values[name] === undefined) throw new PlannerInputError(name, 'is required');
  return read(values, name);
}

const MODEL_HELP = `Model (one of):
  --model ID               ${modelIds().join(', ')}
  --hidden N --ffn N --layers N --heads N --kv-heads N --vocab N [--tied]
                           a custom Llama-style architecture`;

const TRAINING_HELP = `Training settings (defaults: the published estimator's assumptions):
  --recompute MODE         none (default), selective or full activation recomputation
  --recompute-num-layers N with full: recompute only N layers per stage (--recompute-num-layers)
  --tp-comm-overlap        overlap TP communication with the GEMMs (--tp-comm-overlap)
  --fp8                    FP8 GEMMs (Transformer Engine; Hopper)
  --grad-reduce-in-bf16    reduce gradients in bf16 (--grad-reduce-in-bf16)
  --no-distributed-optimizer   replicate the optimizer states (12 bytes/param on every GPU)
  --no-fp32-grad           bf16 gradient accumulation (2 bytes/param instead of 4)
  --pad-vocab              pad the vocabulary to a multiple of 128·TP as Megatron does
  --threshold X            memory rule: fit when estimate <= X · GPU memory (default ${DEFAULT_MEMORY_THRESHOLD})
  --json                   machine-readable output
  --help                   this text`;

const GPU_HELP = `GPU (one of):
  --instance NAME          ${instanceTypeNames().join(', ')}
  --gpu ID                 ${gpuIds().join(', ')} (on its reference node; --gpus-per-node N overrides)`;

const HELP: Record<string, string> = {
  estimate: `cdk-hyperpod-plan estimate: memory and speed of one layout.

  --tp N --pp N --cp N --dp N   parallel sizes (default 1)
  --mbs N                  micro-batch size (default 1)
  --vp N                   virtual pipeline stages (default 1)
  --seq N                  sequence length (default 8192)
  --gbs N                  global batch in sequences (default 1024)
  --gpus N                 check TP·PP·CP·DP against this GPU count

${MODEL_HELP}

${GPU_HELP}

${TRAINING_HELP}

Example: cdk-hyperpod-plan estimate --model llama-3.1-8b --gpu h100-94gb --tp 2 --pp 1 --cp 1 --dp 2 --mbs 1 --seq 8192`,
  search: `cdk-hyperpod-plan search: every valid layout for a GPU count, fastest first among those that fit.

  --gpus N                 GPUs in the job (required)
  --seq N                  sequence length (default 8192)
  --gbs N                  global batch in sequences (default 1024)
  --top K                  show the best K (default 10; all with --json)
  --all                    also list layouts that do not fit (least memory first)
  --max-mbs N              largest micro-batch tried (default 16)
  --max-vp N               largest virtual-pipeline count tried (default 8; 1 = no interleaving)

${MODEL_HELP}

${GPU_HELP}

${TRAINING_HELP}

Example: cdk-hyperpod-plan search --model llama-3.3-70b --gpu h100-80gb --gpus 256 --gpus-per-node 8 --seq 8192 --gbs 1024`,
  plan: `cdk-hyperpod-plan plan: best layout, days, GPU-hours, cost, checkpoints and FSx for a training run.

  --profile NAME           start from a reference profile's run: ${profileNames().join(', ')} (its model, instance,
                           nodes, tokens, sequence, batch, checkpoint settings and data mixture; flags override)
  --instance NAME          ${instanceTypeNames().join(', ')} (required without --profile)
  --nodes N                nodes (required without --profile)
  --tokens N               tokens to train on, e.g. 314e9 (required without a profile's plan)
  --data-mixture FILE      JSON {"sources": [{"name", "prefix", "tokens", "weight" or "epochs", "note"}]}: prints
                           tokens and epochs per source; the launch script gets the weighted --data-path
  --seq N                  sequence length (default 8192)
  --gbs N                  global batch in sequences (default 1024)
  --price-per-node-hour X  adds the cost (any currency)
  --goodput X              share of time spent training (default: the goodput model's)
  --failures-per-node-hour X  node failure rate (default 1.58e-4, Llama 3: 419 interruptions, 54 days, 2,048 nodes)
  --restart-min N          requeue + node replacement + start before the checkpoint load (default 15)
  --write-interference X   share training slows while a checkpoint is written (default 0.153)
  --staging-gbps X         async save device-to-host rate per GPU, GB/s (default 0.68)
  --fsx-tib N              existing FSx for Lustre capacity in TiB: adds checkpoint write times
  --fsx-throughput N       its per-unit throughput, MB/s/TiB: ${PERSISTENT_2_PER_UNIT_THROUGHPUTS.join(', ')} (default 250)
  --fsx-price T=P,...      FSx price per GB-month by throughput tier, for your Region and date (default
                           ${Object.entries(DEFAULT_FSX_PRICE_PER_GB_MONTH).map(([t, p]) => `${t}=${p}`).join(',')}, us-east-1)
  --checkpoint-interval-min N  minutes between checkpoints (default: Young/Daly from stall and failure rate)
  --max-mbs N --max-vp N   search limits (defaults 16, 8)
  --tp N --pp N --cp N --dp N --vp N --mbs N
                           pin these parallel sizes (e.g. a measured layout); the others are searched. A pin
                           that no valid layout that fits can meet is an input error
  --measured-tflops X      TFLOP/s per GPU measured for the chosen layout (throughput-probe.sh): replaces the
                           predicted speed in the step time, days and cost
  --emit-sbatch FILE       also write a Megatron-LM Slurm launch script for the plan to FILE (catalog models)

${MODEL_HELP}

${TRAINING_HELP}

Example: cdk-hyperpod-plan plan --model llama-3.3-70b --instance ml.p5.48xlarge --nodes 32 --tokens 314e9 --seq 8192 --gbs 1024
         cdk-hyperpod-plan plan --profile swallow-70b --emit-sbatch swallow.sbatch`,
};

function usage(): string {
  return `cdk-hyperpod-plan: plan Megatron-LM 4D-parallel training on SageMaker HyperPod.

Commands:
  estimate   memory and speed of one layout
  search     every valid layout for a GPU count, fastest first among those that fit
  plan       best layout, days, GPU-hours, cost, checkpoints and FSx for a run
  quotas     the service quotas a deployment needs; --check compares them with the account

Run 'cdk-hyperpod-plan <command> --help' for its options.

Models:    ${modelIds().join(', ')}
GPUs:      ${gpuIds().join(', ')}
Instances: ${instanceTypeNames().join(', ')}`;
}
