import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PlannerInputError } from '../../lib/planner/errors';
import { ParallelLayout, Recomputation } from '../../lib/planner/layout';
import { defineModel, findModel, MODEL_CATALOG } from '../../lib/planner/models';
import { planTraining, TrainingPlan } from '../../lib/planner/plan';
import { renderMegatronSbatch, SbatchOptions } from '../../lib/training/megatron-launch';
import { SWALLOW_70B_PLAN } from '../../lib/platform/profiles';
import { readCsv } from '../planner/fixtures';

/** The plan with another layout (and other fields), as a hand-made plan the generator must check. */
function variant(plan: TrainingPlan, layout: Partial<ParallelLayout>, extra: Partial<TrainingPlan> = {}): TrainingPlan {
  return { ...plan, layout: { ...plan.layout, ...layout }, ...extra };
}

/**
 * Plans whose layouts cover virtual stages, context parallelism, TP 1, recomputation and uneven pipeline stages.
 * The layouts are pinned: these tests are about the generator, not about which layout the search ranks first.
 */
const PLANS: Record<string, TrainingPlan> = {
  swallow: SWALLOW_70B_PLAN,
  contextParallel: variant(planTraining({ model: findModel('llama-3.3-70b'), instanceType: 'ml.p5en.48xlarge', nodes: 8,
    tokens: 1e11, sequenceLength: 16384, globalBatchSize: 1024 }), { tp: 4, pp: 2, cp: 2, dp: 4, vp: 1 }),
  tp1: variant(planTraining({ model: findModel('llama-3.1-8b'), instanceType: 'ml.p5.48xlarge', nodes: 1, tokens: 1e10,
    sequenceLength: 4096, globalBatchSize: 512 }), { tp: 1, pp: 1, cp: 4, dp: 2, vp: 1 }),
  qwen: variant(planTraining({ model: findModel('qwen2.5-7b'), instanceType: 'ml.p5.48xlarge', nodes: 1, tokens: 1e10,
    sequenceLength: 32768, globalBatchSize: 128, options: { recomputation: Recomputation.SELECTIVE } }),
  { tp: 4, pp: 2, cp: 1, dp: 1, vp: 7 }),
  llama2: planTraining({ model: findModel('llama-2-7b'), instanceType: 'ml.g5.48xlarge', nodes: 2, tokens: 1e9,
    sequenceLength: 4096, globalBatchSize: 256, options: { recomputation: Recomputation.FULL } }),
  unevenStages: variant(planTraining({ model: findModel('llama-3.1-405b'), instanceType: 'ml.p5.48xlarge', nodes: 128,
    tokens: 1e12, sequenceLength: 8192, globalBatchSize: 2048, options: { recomputation: Recomputation.FULL } }),
  { tp: 4, pp: 16, cp: 1, dp: 16, mbs: 1, vp: 1 }),
};

/** The entries of the script's *_ARGS arrays, one flag (with its values) per entry. */
function megatronArgs(script: string): string[] {
  const out: string[] = [];
  for (const block of script.matchAll(/^[A-Z_]+_ARGS=\(\n([\s\S]*?)\n\)$/gm)) {
    out.push(...block[1].split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')));
  }
  return out;
}

describe('renderMegatronSbatch: the swallow-70b plan', () => {
  const options: SbatchOptions = { runName: 'swallow-70b', partition: 'gpu' };
  const script = renderMegatronSbatch(SWALLOW_70B_PLAN, options);
  const args = megatronArgs(script);

  test('the script the reference profile ships', () => {
    expect(script).toMatchSnapshot();
  });

  test('the plan\'s layout: TP8 PP2 with virtual stages, sequence parallelism, overlapped optimizer', () => {
    const layout = SWALLOW_70B_PLAN.layout;
    expect(layout).toMatchObject({ tp: 8, pp: 2, cp: 1, dp: 16, mbs: 1 });
    expect(layout.vp).toBeGreaterThan(1);
    expect(args).toEqual(expect.arrayContaining([
      '--tensor-model-parallel-size 8', '--pipeline-model-parallel-size 2',
      `--num-layers-per-virtual-pipeline-stage ${80 / 2 / layout.vp!}`,
      '--context-parallel-size 1', '--sequence-parallel', '--use-distributed-optimizer', '--overlap-grad-reduce',
      '--overlap-param-gather', '--micro-batch-size 1', '--global-batch-size 1024',
    ]));
    expect(args).toEqual(expect.arrayContaining(['--tp-comm-overlap', '--tp-comm-bootstrap-backend nccl']));
    expect(script).toMatch(/^#SBATCH --nodes=32$/m);
    expect(script).toMatch(/^#SBATCH --partition=gpu$/m);
  });

  test('Llama 3.3 70B from the catalog: GQA, RoPE with Llama 3 scaling, RMSNorm, SwiGLU, untied embeddings, bf16', () => {
    expect(args).toEqual(expect.arrayContaining([
      '--num-layers 80', '--hidden-size 8192', '--ffn-hidden-size 28672', '--num-attention-heads 64',
      '--group-query-attention', '--num-query-groups 8', '--seq-length 8192', '--max-position-embeddings 131072',
      '--position-embedding-type rope', '--rotary-base 500000', '--use-rope-scaling', '--normalization RMSNorm',
      '--swiglu', '--untie-embeddings-and-output-weights', '--bf16', '--use-flash-attn',
    ]));
    expect(args).not.toContain('--add-qkv-bias');
  });

  test('asynchronous torch_dist checkpoints at the interval the file system was sized for: 60 min / step time', () => {
    expect(SWALLOW_70B_PLAN.checkpointIntervalMinutes).toBe(60);
    const interval = Math.floor(60 * 60 / SWALLOW_70B_PLAN.stepSeconds);
    expect(interval).toBeGreaterThan(50);
    expect(script).toContain(`readonly GPUS_PER_NODE=8 TRAIN_STEPS=${SWALLOW_70B_PLAN.steps} SAVE_INTERVAL=${interval}`);
    expect(args).toEqual(expect.arrayContaining(['--ckpt-format torch_dist', '--save-interval "$SAVE_INTERVAL"', '--async-save']));
    expect(script).toContain(': "${KEEP_CHECKPOINTS:=4}"');
  });

  test('carries the plan\'s predictions for the probe, per node count with the layout\'s memory', () => {
    expect(script).toContain(`# plan.tflops_per_gpu=${SWALLOW_70B_PLAN.tflopsPerGpu.toFixed(1)}`);
    expect(script).toContain('# plan.flops_per_token=481434796032');
    const predicted = script.split('\n').filter((l) => l.startsWith('# plan.predicted '));
    expect(predicted.map((l) => /nodes=(\d+)/.exec(l)?.[1])).toEqual(['2', '4', '8', '16', '32']);
    expect(predicted[4]).toContain(`tflops_per_gpu=${SWALLOW_70B_PLAN.tflopsPerGpu.toFixed(1)} `);
    expect(predicted[4]).toMatch(/fits=yes$/);
    expect(predicted[0]).toMatch(/ dp=1 .* fits=no$/);
  });

  test('data under the S3-backed /fsx/datasets, the tokenizer, base checkpoint and training image under /fsx', () => {
    expect(script).toContain('DATA_BLEND=(\n  /fsx/datasets/swallow-70b/text_document\n)');
    expect(script).toContain(': "${TOKENIZER_MODEL:=/fsx/models/llama-3.3-70b}"');
    expect(script).toContain(': "${BASE_CHECKPOINT=/fsx/checkpoints/llama-3.3-70b-base/torch_dist}"');
    expect(script).toContain(': "${CONTAINER_IMAGE=/fsx/images/training.sqsh}"');
    expect(script).toContain('source "$LAUNCH_LIBRARY"');
    expect(script).not.toMatch(/git clone|curl |wget |pip install|docker pull/);
  });

  test('a requeued job appends to its log; the nodes sit under one switch, or any after an hour', () => {
    expect(script).toMatch(/^#SBATCH --open-mode=append$/m);
    expect(script).toMatch(/^#SBATCH --requeue$/m);
    expect(script).toMatch(/^#SBATCH --switches=1@60$/m);
    expect(renderMegatronSbatch(SWALLOW_70B_PLAN, { singleSwitchWaitMinutes: 0 })).not.toContain('--switches');
  });

  test('the fixed bash lives in megatron-launch.sh: the script holds variables and argument arrays only', () => {
    const body = script.slice(script.indexOf('set -euo pipefail'));
    const statements = body.split('\n').filter((l) => l && !l.startsWith('#') && !l.startsWith('  ') && l !== ')');
    expect(statements.every((l) => /^(set -euo pipefail|readonly [A-Z_]+=|: "\$\{[A-Z_]+:?=|[A-Z_]+=\(|source "\$LAUNCH_LIBRARY")/.test(l)))
      .toBe(true);
  });
});

describe('flags follow the plan', () => {
  test('context parallelism: TP4 PP2 CP2, no virtual stages', () => {
    const plan = PLANS.contextParallel;
    expect(plan.layout).toMatchObject({ tp: 4, pp: 2, cp: 2, vp: 1 });
    const args = megatronArgs(renderMegatronSbatch(plan));
    expect(args).toEqual(expect.arrayContaining(['--context-parallel-size 2', '--tensor-model-parallel-size 4',
      '--sequence-parallel', '--seq-length 16384']));
    expect(args.some((a) => a.startsWith('--num-layers-per-virtual-pipeline-stage'))).toBe(false);
  });

  test('TP 1: no sequence parallelism, no tensor-parallel overlap', () => {
    expect(PLANS.tp1.layout).toMatchObject({ tp: 1, cp: 4 });
    const script = renderMegatronSbatch(PLANS.tp1);
    expect(megatronArgs(script)).toContain('--context-parallel-size 4');
    expect(script).not.toContain('--sequence-parallel');
    expect(script).not.toContain('--tp-comm-overlap');
    expect(script).toContain('TP_COMM_OVERLAP_ARGS=(\n)');
  });

  test('virtual stages of 28 layers over PP2 VP7, Qwen\'s Q/K/V biases and RoPE base, selective recomputation', () => {
    expect(PLANS.qwen.layout).toMatchObject({ tp: 4, pp: 2, vp: 7 });
    const args = megatronArgs(renderMegatronSbatch(PLANS.qwen));
    expect(args).toEqual(expect.arrayContaining(['--num-layers-per-virtual-pipeline-stage 2', '--add-qkv-bias',
      '--rotary-base 1000000', '--norm-epsilon 1e-6', '--recompute-granularity selective', '--num-query-groups 4']));
    expect(args).not.toContain('--use-rope-scaling');
  });

  test('full recomputation; multi-head attention without GQA flags', () => {
    const args = megatronArgs(renderMegatronSbatch(PLANS.llama2));
    expect(args).toEqual(expect.arrayContaining(['--recompute-granularity full', '--recompute-method uniform',
      '--recompute-num-layers 1', '--rotary-base 10000', '--max-position-embeddings 4096']));
    expect(args).not.toContain('--group-query-attention');
  });

  test('uneven pipeline stages: Llama 3.1 405B over PP 16 as 7 + 14×8 + 7 layers, no interleaving', () => {
    const plan = PLANS.unevenStages;
    expect(plan.layout).toMatchObject({ tp: 4, pp: 16, cp: 1, dp: 16, mbs: 1, vp: 1 });
    const script = renderMegatronSbatch(plan);
    const args = megatronArgs(script);
    expect(args).toEqual(expect.arrayContaining(['--pipeline-model-parallel-size 16', '--num-layers 126',
      '--decoder-first-pipeline-num-layers 7', '--decoder-last-pipeline-num-layers 7', '--recompute-granularity full']));
    expect(args.some((a) => a.startsWith('--num-layers-per-virtual-pipeline-stage'))).toBe(false);
  });

  test('even stages carry no uneven-stage flags', () => {
    for (const plan of [PLANS.swallow, PLANS.contextParallel, PLANS.qwen]) {
      expect(renderMegatronSbatch(plan)).not.toContain('pipeline-num-layers');
    }
  });

  test('without the distributed optimizer or fp32 gradients, their flags go', () => {
    const plan = planTraining({ model: findModel('llama-3.1-8b'), instanceType: 'ml.p5.48xlarge', nodes: 2,
      tokens: 1e10, sequenceLength: 8192, globalBatchSize: 256,
      options: { distributedOptimizer: false, fp32GradientAccumulation: false } });
    const args = megatronArgs(renderMegatronSbatch(plan));
    expect(args).toContain('--overlap-grad-reduce');
    expect(args).not.toContain('--use-distributed-optimizer');
    expect(args).not.toContain('--overlap-param-gather');
    expect(args).not.toContain('--accumulate-allreduce-grads-in-fp32');
    expect(renderMegatronSbatch(plan)).toContain('--no-distributed-optimizer --no-fp32-grad');
  });

  test('the planner\'s tpCommOverlap and recomputeNumLayers, when it gives them', () => {
    const off = variant(PLANS.swallow, { tpCommOverlap: false } as Partial<ParallelLayout>);
    expect(megatronArgs(renderMegatronSbatch(off))).not.toContain('--tp-comm-overlap');
    const on = variant(PLANS.tp1, { tpCommOverlap: true } as Partial<ParallelLayout>);
    expect(() => renderMegatronSbatch(on)).toThrow(/--tp-comm-overlap needs TP > 1/);
    const layers = variant(PLANS.llama2, { recomputeNumLayers: 4 } as Partial<ParallelLayout>);
    expect(megatronArgs(renderMegatronSbatch(layers))).toContain('--recompute-num-layers 4');
  });

  test('the plan command repeats a given goodput and the pinned sizes, not the goodput model\'s result', () => {
    const command = (plan: TrainingPlan) => renderMegatronSbatch(plan).match(/^# plan\.command=(.*)$/m)![1];
    expect(command(SWALLOW_70B_PLAN)).not.toContain('--goodput');
    const input = { model: findModel('llama-3.3-70b'), instanceType: 'ml.p5.48xlarge', nodes: 32, tokens: 314e9,
      sequenceLength: 8192, globalBatchSize: 1024, checkpointIntervalMinutes: 60 };
    const pinned = planTraining({ ...input, goodput: 0.95, pinnedLayout: { tp: 8, pp: 2, vp: 4 } });
    expect(command(pinned)).toBe('cdk-hyperpod-plan plan --model llama-3.3-70b --instance ml.p5.48xlarge --nodes 32 '
      + '--tokens 3.14e11 --seq 8192 --gbs 1024 --checkpoint-interval-min 60 --goodput 0.95 --tp 8 --pp 2 --vp 4');
    expect(pinned.layout).toMatchObject({ tp: 8, pp: 2, vp: 4 });
  });
});

describe('position settings of every catalog model are its config.json\'s (model-configs.csv)', () => {
  const rows = readCsv('model-configs.csv');
  test.each(MODEL_CATALOG.map((m) => [m.id, m] as const))('%s', (_id, model) => {
    const row = rows.find((r) => r.model.startsWith(model.name));
    expect(row).toBeDefined();
    const plan = variant(SWALLOW_70B_PLAN, { tp: 1, pp: 1, cp: 1, dp: 8, mbs: 1, vp: 1 },
      { model, modelName: model.name, nodes: 1, gpus: 8, sequenceLength: 4096 });
    const args = megatronArgs(renderMegatronSbatch(plan));
    expect(args).toContain(`--rotary-base ${Number(row?.rope_theta)}`);
    expect(args).toContain(`--max-position-embeddings ${Math.max(4096, Number(row?.max_position_embeddings))}`);
    expect(args.includes('--add-qkv-bias')).toBe(row?.qkv_bias === 'true');
    expect(args.includes('--untie-embeddings-and-output-weights')).toBe(row?.tie_word_embeddings === 'false');
  });
});

describe('plans Megatron-LM cannot run are refused', () => {
  test.each([
    ['TP·PP·CP·DP different from the GPUs', variant(PLANS.swallow, { dp: 8 }),
      /layout is not possible: TP·PP·CP·DP must equal the GPU count 256, got 8·2·1·8 = 128/],
    ['layers not divisible by PP·VP', variant(PLANS.swallow, { vp: 3 }),
      /PP·VP must divide the 80 layers, got 2·3 = 6/],
    ['micro-batches not a multiple of PP with interleaving',
      variant(PLANS.swallow, { pp: 4, dp: 8, mbs: 1, vp: 4 }, { globalBatchSize: 8 * 6 }),
      /layout is not possible: the interleaved schedule \(VP 4\) needs the 6 micro-batches per step to be a multiple of PP 4/],
    ['TP·CP not dividing the sequence (sequence parallelism)', variant(PLANS.swallow, {}, { sequenceLength: 8196 }),
      /layout is not possible: sequence parallelism splits each context-parallel chunk over TP, so TP·CP must divide the sequence length 8196, got 8·1 = 8/],
    ['uneven stages with interleaving', variant(PLANS.unevenStages, { vp: 2 }),
      /uneven pipeline stages \(7 \+ 14×8 \+ 7 layers\) with the interleaved schedule need .* divisible by VP \(Megatron-LM core_v0\.15\.3\), got VP 2 with first 7, last 7/],
    ['nodes and GPUs that disagree', variant(PLANS.swallow, {}, { nodes: 16 }),
      /gpus must be nodes × GPUs per node = 16 × 8, got 256/],
  ])('%s', (_name, plan, message) => {
    expect(() => renderMegatronSbatch(plan)).toThrow(PlannerInputError);
    expect(() => renderMegatronSbatch(plan)).toThrow(message);
  });

  test('query groups not divisible by TP: the layout rule the search applies too', () => {
    const custom = defineModel({ ...findModel('llama-3.1-8b'), id: 'custom', name: 'custom model', numKvHeads: 4 });
    const plan = variant(PLANS.tp1, { tp: 8, cp: 1, dp: 1 }, { model: custom, modelName: custom.name });
    expect(() => renderMegatronSbatch(plan, { rotaryBase: 500000 })).toThrow('layout is not possible: TP must divide '
      + 'the 4 KV heads (query groups): Megatron-LM splits them over the TP ranks, got 8');
  });

  test('a model outside the catalog needs its RoPE base', () => {
    const custom = defineModel({ ...findModel('llama-3.1-8b'), id: 'custom', name: 'custom model' });
    const plan = variant(PLANS.tp1, {}, { model: custom, modelName: custom.name });
    expect(() => renderMegatronSbatch(plan)).toThrow(/rotaryBase is required for custom model/);
    const args = megatronArgs(renderMegatronSbatch(plan, { rotaryBase: 250000 }));
    expect(args).toEqual(expect.arrayContaining(['--rotary-base 250000', '--max-position-embeddings 4096']));
  });
});

describe('options', () => {
  test('names, paths, partition, time limit, schedule and tracking go where they belong', () => {
    const script = renderMegatronSbatch(PLANS.swallow, {
      runName: 'swallow-v2', fsxMountPath: '/lustre/', partition: 'p5', timeLimit: '7-00:00:00', saveIntervalSteps: 250,
      dataPath: '0.7 /lustre/datasets/ja/text_document 0.3 /lustre/datasets/en/text_document',
      tokenizerModel: '/lustre/models/swallow', baseCheckpoint: '/lustre/checkpoints/llama-3.3-70b-megatron/torch_dist',
      containerImage: '/lustre/images/megatron.sqsh',
      learningRate: 2.5e-5, warmupSteps: 500, wandbProject: 'swallow',
    });
    expect(script).toMatch(/^#SBATCH --job-name=pretrain-swallow-v2$/m);
    expect(script).toMatch(/^#SBATCH --time=7-00:00:00$/m);
    expect(script).toContain('readonly FSX=/lustre RUN_NAME=swallow-v2');
    expect(script).toContain('SAVE_INTERVAL=250');
    expect(script).toContain('DATA_BLEND=(\n  0.7 /lustre/datasets/ja/text_document\n  0.3 /lustre/datasets/en/text_document\n)');
    expect(script).toContain(': "${BASE_CHECKPOINT=/lustre/checkpoints/llama-3.3-70b-megatron/torch_dist}"');
    expect(script).toContain(': "${CONTAINER_IMAGE=/lustre/images/megatron.sqsh}"');
    expect(script).toContain(': "${LR:=2.5e-5}"');
    expect(script).toContain(': "${MIN_LR:=2.5e-6}"');
    expect(script).toContain(': "${WANDB_PROJECT:=swallow}"');
    expect(megatronArgs(script)).toContain('--lr-warmup-iters 500');
  });

  test.each([
    [{ runName: 'my run' }, /runName must be letters, digits/],
    [{ fsxMountPath: 'fsx' }, /fsxMountPath must be an absolute path, got 'fsx'/],
    [{ dataPath: '/fsx/$(reboot)' }, /dataPath must be paths and weights separated by spaces/],
    [{ timeLimit: 'a week' }, /timeLimit must be a Slurm time such as 7-00:00:00/],
    [{ saveIntervalSteps: 0 }, /saveIntervalSteps must be a positive integer, got 0/],
    [{ warmupSteps: 1e9 }, /warmupSteps must be a whole number of steps below the run's/],
    [{ learningRate: -1 }, /learningRate must be a number greater than 0/],
    [{ baseCheckpoint: 'relative/dir' }, /baseCheckpoint must be an absolute path, got 'relative\/dir'/],
    [{ containerImage: 'img;reboot' }, /containerImage must be a squashfs path or an image reference/],
    [{ singleSwitchWaitMinutes: -1 }, /singleSwitchWaitMinutes must be a whole number of minutes/],
    [{ dataPath: '/fsx/a', dataMixture: { sources: [] } }, /give dataPath or dataMixture, not both/],
  ])('refuses %j', (options, message) => {
    expect(() => renderMegatronSbatch(PLANS.swallow, options)).toThrow(message);
  });
});

describe('the generated scripts pass shellcheck', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sbatch-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('every plan above, with and without options', async () => {
    const files = Object.entries(PLANS).flatMap(([name, plan]) => {
      const plain = path.join(dir, `${name}.sbatch`);
      const withOptions = path.join(dir, `${name}-options.sbatch`);
      fs.writeFileSync(plain, renderMegatronSbatch(plan));
      fs.writeFileSync(withOptions, renderMegatronSbatch(plan, { runName: 'run', partition: 'gpu', timeLimit: '2-00:00:00',
        baseCheckpoint: '', containerImage: '', dataPath: '0.5 /fsx/a 0.5 /fsx/b' }));
      return [plain, withOptions];
    });
    const result = await new Promise<{ code: number; output: string }>((resolve) => {
      // Run from the repository root: the scripts name megatron-launch.sh for shellcheck by its path there.
      execFile('shellcheck', ['-x', '--shell=bash', ...files], { cwd: path.join(__dirname, '..', '..') }, (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, output: `${stdout}${stderr}` });
      });
    });
    expect(result.output).toBe('');
    expect(result.code).toBe(0);
  }, 120_000);
});
