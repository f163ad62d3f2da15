import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { EXIT_BAD_INPUT, EXIT_OK, runCli } from '../../lib/planner-cli/cli';
import { flopsPerToken } from '../../lib/planner/flops';
import { findModel } from '../../lib/planner/models';
import { PlanInput, planTraining } from '../../lib/planner/plan';
import { renderMegatronSbatch } from '../../lib/training/megatron-launch';

/*
 * The calibration loop: `plan --emit-sbatch` writes the launch script, throughput-probe.sh measures it, and the
 * measured TFLOP/s per GPU goes back into the plan (`measuredTflopsPerGpu`, `--measured-tflops`).
 */

const SWALLOW: PlanInput = {
  model: findModel('llama-3.3-70b'), instanceType: 'ml.p5.48xlarge', nodes: 32, tokens: 314e9, sequenceLength: 8192,
  globalBatchSize: 1024, checkpointIntervalMinutes: 5,
};
const PLAN_ARGS = ['plan', '--model', 'llama-3.3-70b', '--instance', 'ml.p5.48xlarge', '--nodes', '32', '--tokens',
  '314e9', '--seq', '8192', '--gbs', '1024', '--checkpoint-interval-min', '5'];

function cli(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = runCli(argv, { stdout: (t) => { stdout += t; }, stderr: (t) => { stderr += t; } });
  return { code, stdout, stderr };
}

describe('planTraining with a measured TFLOP/s per GPU', () => {
  const predicted = planTraining(SWALLOW);
  const measured = planTraining({ ...SWALLOW, measuredTflopsPerGpu: 400 });

  test('keeps the layout, plans at the measured speed and keeps the prediction beside it', () => {
    expect(measured.layout).toEqual(predicted.layout);
    expect(measured.tflopsPerGpu).toBe(400);
    expect(measured.measuredTflopsPerGpu).toBe(400);
    expect(measured.predictedTflopsPerGpu).toBeCloseTo(predicted.tflopsPerGpu, 9);
    expect(predicted.measuredTflopsPerGpu).toBeUndefined();
    expect(predicted.predictedTflopsPerGpu).toBe(predicted.tflopsPerGpu);
  });

  test('tokens/s, step time, MFU, days and GPU-hours follow from it with the same FLOPs per token', () => {
    const tokens = 400e12 / flopsPerToken(SWALLOW.model, 8192);
    expect(measured.tokensPerSecondPerGpu).toBeCloseTo(tokens, 9);
    expect(measured.stepSeconds).toBeCloseTo(1024 * 8192 / (256 * tokens), 9);
    expect(measured.mfu).toBeCloseTo(400 / 989, 9);
    const slower = predicted.tflopsPerGpu / 400;
    expect(measured.days).toBeCloseTo(predicted.days * slower, 9);
    expect(measured.gpuHours).toBeCloseTo(predicted.gpuHours * slower, 6);
    expect(measured.summary).toContain('400 TFLOP/s/GPU (measured)');
    expect(predicted.summary).not.toContain('measured');
  });

  test('the plan records what it was made from, for the launch script', () => {
    expect(predicted).toMatchObject({ model: SWALLOW.model, tokens: 314e9, sequenceLength: 8192, globalBatchSize: 1024,
      checkpointIntervalMinutes: 5, checkpointsRetained: 2,
      options: { distributedOptimizer: true, fp32GradientAccumulation: true, recomputation: 'none', padVocabulary: false } });
  });

  test('the launch script carries both numbers and saves at the interval the measured step time allows', () => {
    const script = renderMegatronSbatch(measured);
    expect(script).toContain('# plan.tflops_per_gpu=400.0');
    expect(script).toContain(`# plan.predicted_tflops_per_gpu=${predicted.tflopsPerGpu.toFixed(1)}`);
    expect(script).toContain(`SAVE_INTERVAL=${Math.floor(300 / measured.stepSeconds)}`);
    expect(Math.floor(300 / measured.stepSeconds)).toBe(7);
  });

  test.each([
    [0, /measuredTflopsPerGpu must be a number greater than 0, got 0/],
    [1200, /measuredTflopsPerGpu cannot exceed the H100 80GB's dense BF16 peak of 989 TFLOP\/s, got 1200/],
  ])('refuses %d', (value, message) => {
    expect(() => planTraining({ ...SWALLOW, measuredTflopsPerGpu: value })).toThrow(message);
  });
});

describe('cdk-hyperpod-plan plan --measured-tflops and --emit-sbatch', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emit-sbatch-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('--measured-tflops plans at the measured speed', () => {
    const { code, stdout } = cli(...PLAN_ARGS, '--measured-tflops', '400', '--json');
    expect(code).toBe(EXIT_OK);
    const out = JSON.parse(stdout);
    expect(out.tflopsPerGpu).toBe(400);
    expect(out.days).toBeCloseTo(planTraining({ ...SWALLOW, measuredTflopsPerGpu: 400 }).days, 9);
    expect(cli(...PLAN_ARGS, '--measured-tflops', '400').stdout).toMatch(/speed per GPU +400\.0 +TFLOP\/s/);
  });

  test('--emit-sbatch writes the plan\'s launch script, executable, and names it after the plan', () => {
    const file = path.join(dir, 'pretrain.sbatch');
    const { code, stdout } = cli(...PLAN_ARGS, '--emit-sbatch', file);
    expect(code).toBe(EXIT_OK);
    expect(fs.readFileSync(file, 'utf8')).toBe(renderMegatronSbatch(planTraining(SWALLOW)));
    expect(fs.statSync(file).mode & 0o777).toBe(0o755);
    expect(stdout.trimEnd().split('\n').pop()).toBe(`Megatron-LM launch script: ${file}`);
  });

  test('with --json the output stays JSON', () => {
    const file = path.join(dir, 'json.sbatch');
    const { code, stdout } = cli(...PLAN_ARGS, '--tp', '8', '--pp', '2', '--vp', '4', '--emit-sbatch', file, '--json');
    expect(code).toBe(EXIT_OK);
    expect(JSON.parse(stdout).layout).toMatchObject({ tp: 8, pp: 2, vp: 4 });
    expect(fs.existsSync(file)).toBe(true);
  });

  test.each([
    ['a plan that cannot be made', ['plan', '--model', 'llama-3.1-405b', '--instance', 'ml.p5.48xlarge', '--nodes', '2',
      '--tokens', '1e9'], /error: layout not found: Llama-3\.1-405B fits no valid layout/],
    ['a custom model (no RoPE base)', ['plan', '--hidden', '4096', '--ffn', '14336', '--layers', '32', '--heads', '32',
      '--kv-heads', '8', '--vocab', '128256', '--instance', 'ml.p5.48xlarge', '--nodes', '1', '--tokens', '1e9'],
    /error: rotaryBase is required for custom model, which is not in the model catalog/],
    ['a measurement that is not a number', [...PLAN_ARGS, '--measured-tflops', 'fast'],
      /error: measured-tflops must be a number, got 'fast'/],
  ])('%s: exit 2, a message, no file', (_name, argv, message) => {
    const file = path.join(dir, `refused-${argv.length}.sbatch`);
    const { code, stderr, stdout } = cli(...argv, '--emit-sbatch', file);
    expect(code).toBe(EXIT_BAD_INPUT);
    expect(stderr).toMatch(message);
    expect(stdout).toBe('');
    expect(fs.existsSync(file)).toBe(false);
  });

  test('a path that cannot be written is an input error', () => {
    const { code, stderr } = cli(...PLAN_ARGS, '--emit-sbatch', path.join(dir, 'missing', 'x.sbatch'));
    expect(code).toBe(EXIT_BAD_INPUT);
    expect(stderr).toMatch(/error: emit-sbatch cannot write '.*missing\/x\.sbatch': ENOENT/);
  });

  test('--help lists both options', () => {
    const { stdout } = cli('plan', '--help');
    expect(stdout).toContain('--measured-tflops X');
    expect(stdout).toContain('--emit-sbatch FILE');
  });
});
