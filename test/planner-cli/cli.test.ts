import { EXIT_BAD_INPUT, EXIT_OK, runCli } from '../../lib/planner-cli/cli';
import { Recomputation } from '../../lib/planner/layout';
import { estimateMemory } from '../../lib/planner/memory';
import { findModel, modelIds } from '../../lib/planner/models';
import { planTraining } from '../../lib/planner/plan';

function cli(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = runCli(argv, { stdout: (t) => { stdout += t; }, stderr: (t) => { stderr += t; } });
  return { code, stdout, stderr };
}

const ESTIMATE = ['estimate', '--model', 'llama-3.1-8b', '--gpu', 'h100-94gb', '--tp', '2', '--pp', '1', '--cp', '1',
  '--dp', '2', '--mbs', '1', '--seq', '8192'];
const SEARCH = ['search', '--model', 'llama-3.3-70b', '--gpu', 'h100-80gb', '--gpus', '256', '--gpus-per-node', '8',
  '--seq', '8192', '--gbs', '1024'];
const PLAN = ['plan', '--model', 'llama-3.3-70b', '--instance', 'ml.p5.48xlarge', '--nodes', '32', '--tokens', '314e9',
  '--seq', '8192', '--gbs', '1024'];

describe('estimate', () => {
  test('--json reports the published memory values and a speed', () => {
    const { code, stdout } = cli(...ESTIMATE, '--json');
    expect(code).toBe(EXIT_OK);
    const out = JSON.parse(stdout);
    expect(out.memoryGiB.weightsGradientsOptimizer).toBeCloseTo(44.8726, 4);
    expect(out.memoryGiB.activations).toBeCloseTo(22.6445, 4);
    expect(out.memoryGiB.total).toBeCloseTo(44.8726 + 22.6445, 3);
    expect(out).toMatchObject({ gpuMemoryGB: 94, fits80: true, layout: { tp: 2, pp: 1, cp: 1, dp: 2, mbs: 1, vp: 1 } });
    expect(out.tflopsPerGpu).toBeGreaterThan(300);
    expect(out.tokensPerSecondPerGpu * 5.79e10 / 1e12).toBeCloseTo(out.tflopsPerGpu, -1);
  });

  test('fits80 follows the 80% rule while --threshold moves fits', () => {
    const args = ['estimate', '--model', 'llama-3.3-70b', '--gpu', 'h100-94gb', '--tp', '4', '--pp', '4', '--dp', '8',
      '--gpus-per-node', '8', '--json'];
    expect(JSON.parse(cli(...args).stdout)).toMatchObject({ fits80: false, fits: false });
    expect(JSON.parse(cli(...args, '--threshold', '0.9').stdout)).toMatchObject({ fits80: false, fits: true });
  });

  test('flags change the estimate the way the library does', () => {
    const { stdout } = cli(...ESTIMATE, '--no-distributed-optimizer', '--recompute', 'full', '--json');
    const lib = estimateMemory({
      model: findModel('llama-3.1-8b'), layout: { tp: 2, pp: 1, cp: 1, dp: 2, mbs: 1 }, sequenceLength: 8192,
      globalBatchSize: 1024, options: { distributedOptimizer: false, recomputation: Recomputation.FULL },
    });
    expect(JSON.parse(stdout).memoryGiB.total).toBeCloseTo(lib.totalGiB, 9);
  });

  test('human output is an aligned list with units', () => {
    const { stdout } = cli(...ESTIMATE);
    expect(stdout).toMatch(/^Llama-3\.1-8B on 4x H100 94GB \(4 per node\), TP2 PP1 CP1 DP2 mbs1 vp1/);
    const lines = stdout.split('\n').filter((l) => / GiB/.test(l) && /^ {2}\w/.test(l));
    expect(lines).toHaveLength(5);
    expect(new Set(lines.map((l) => l.indexOf(' GiB'))).size).toBe(1);
    expect(stdout).toMatch(/total +67\.52 +GiB +\(72% of 94 GB; fits under 80% = 75\.2 GiB\)/);
    expect(stdout).toMatch(/TFLOP\/s +\(MFU \d+\.\d%\)/);
  });

  test('a custom architecture works without --model', () => {
    const { code, stdout } = cli('estimate', '--hidden', '4096', '--ffn', '14336', '--layers', '32', '--heads', '32',
      '--kv-heads', '8', '--vocab', '128256', '--gpu', 'h100-94gb', '--tp', '2', '--dp', '2', '--json');
    expect(code).toBe(EXIT_OK);
    expect(JSON.parse(stdout).memoryGiB.weightsGradientsOptimizer).toBeCloseTo(44.8726, 4);
  });
});

describe('search', () => {
  test('--json lists layouts with sizes, memory, fits80 and TFLOP/s, fastest first', () => {
    const { code, stdout } = cli(...SEARCH, '--json');
    expect(code).toBe(EXIT_OK);
    const rows = JSON.parse(stdout).layouts;
    expect(rows.length).toBeGreaterThan(5);
    for (const r of rows) {
      expect(r.tp * r.pp * r.cp * r.dp).toBe(256);
      expect(r.fits80).toBe(true);
      expect(r.memoryGiB.total).toBeLessThanOrEqual(64);
    }
    const speeds = rows.map((r: { tflopsPerGpu: number }) => r.tflopsPerGpu);
    expect(speeds).toEqual([...speeds].sort((a, b) => b - a));
  });

  test('--top and --all', () => {
    expect(JSON.parse(cli(...SEARCH, '--json', '--top', '3').stdout).layouts).toHaveLength(3);
    const all = JSON.parse(cli(...SEARCH, '--json', '--all').stdout).layouts;
    expect(all.some((r: { fits80: boolean }) => !r.fits80)).toBe(true);
  });

  test('uneven pipeline stages are marked and spelled out under the table', () => {
    const args = ['search', '--model', 'llama-3.1-405b', '--instance', 'ml.p5.48xlarge', '--gpus', '1024', '--gbs', '2048',
      '--recompute', 'full', '--top', '60'];
    const lines = cli(...args).stdout.trim().split('\n');
    expect(lines.some((l) => /^\s*\d+\s+4\s+16\*\s+1\s+16\s+1\s+1\s/.test(l))).toBe(true);
    expect(lines[lines.length - 1]).toMatch(/^\* uneven pipeline stages, layers of the first \+ middle \+ last: .*PP16 7 \+ 14×8 \+ 7/);
    const json = JSON.parse(cli(...args, '--json').stdout).layouts;
    expect(json.find((r: { tp: number; pp: number; cp: number }) => r.tp === 4 && r.pp === 16 && r.cp === 1))
      .toMatchObject({ vp: 1, stageLayers: { first: 7, middle: 8, last: 7 } });
  });

  test('estimate names the most-loaded stage of an uneven split', () => {
    const args = ['estimate', '--model', 'llama-3.1-405b', '--instance', 'ml.p5.48xlarge', '--tp', '8', '--pp', '16',
      '--dp', '8', '--gbs', '2048'];
    const { code, stdout } = cli(...args);
    expect(code).toBe(EXIT_OK);
    expect(stdout).toContain('TP8 PP16 CP1 DP8 mbs1 vp1 (stages of 7 + 14×8 + 7 layers)');
    expect(stdout).toContain('Memory of the most-loaded GPU (pipeline stage 2 of 16: 8 layers)');
    expect(JSON.parse(cli(...args, '--json').stdout)).toMatchObject({ mostLoadedStage: 1, fits80: false,
      stageLayers: { first: 7, middle: 8, last: 7 } });
  });

  test('human output is a table with a header and one row per layout', () => {
    const lines = cli(...SEARCH, '--top', '4').stdout.trim().split('\n');
    expect(lines[2]).toMatch(/^#\s+TP\s+PP\s+CP\s+DP\s+mbs\s+vp\s+mem GiB\s+fits\s+TFLOP\/s\/GPU\s+tok\/s\/GPU\s+bubble$/);
    expect(lines.slice(4)).toHaveLength(4);
    expect(new Set(lines.slice(2).map((l) => l.length)).size).toBe(1); // aligned columns
  });
});

describe('plan', () => {
  test('--json is the library plan: layout, days, GPU-hours, cost, checkpoint and FSx', () => {
    const { code, stdout } = cli(...PLAN, '--price-per-node-hour', '55', '--fsx-tib', '48', '--fsx-throughput', '250',
      '--json');
    expect(code).toBe(EXIT_OK);
    const out = JSON.parse(stdout);
    const lib = planTraining({ model: findModel('llama-3.3-70b'), instanceType: 'ml.p5.48xlarge', nodes: 32,
      tokens: 314e9, sequenceLength: 8192, globalBatchSize: 1024, pricePerNodeHour: 55, fsxCapacityTiB: 48 });
    expect(out.layout).toEqual(lib.layout);
    expect(out.days).toBeCloseTo(lib.days, 9);
    expect(out.cost).toBeCloseTo(lib.cost as number, 6);
    expect(out.checkpoint.writeSeconds).toBeCloseTo(82.3, 1);
    expect(out.recommendedFsx.storageCapacityGiB).toBeGreaterThanOrEqual(1200);
  });

  test('--fsx-price replaces the price of the tiers given: a dear top tier moves the choice to a lower one', () => {
    const plain = JSON.parse(cli(...PLAN, '--json').stdout).recommendedFsx;
    expect(plain.perUnitThroughputMBps).toBe(1000);
    const dear = JSON.parse(cli(...PLAN, '--fsx-price', '1000=5', '--json').stdout).recommendedFsx;
    expect(dear.perUnitThroughputMBps).toBeLessThan(1000);
    const { code, stderr } = cli(...PLAN, '--fsx-price', '125=0.145,300=0.2');
    expect(code).toBe(EXIT_BAD_INPUT);
    expect(stderr).toMatch(/fsx-price must be TIER=PRICE pairs .*TIER one of 125, 250, 500, 1000 .*got '300=0\.2'/);
  });

  test('the checkpoint interval is printed in whole minutes', () => {
    expect(cli(...PLAN).stdout).toMatch(/checkpoint every +\d+ min +\(Young\/Daly, whole minutes\)/);
    expect(cli(...PLAN, '--checkpoint-interval-min', '7.5').stdout).toMatch(/checkpoint every +7\.5 min +\(given/);
  });

  test('human output shows the run and the summary line', () => {
    const { stdout } = cli(...PLAN, '--price-per-node-hour', '55');
    expect(stdout).toMatch(/duration +\d+\.\d +days/);
    expect(stdout).toMatch(/GPU-hours +[\d,]+/);
    expect(stdout).toMatch(/cost +[\d,]+/);
    expect(stdout).toMatch(/checkpoint +988 +GB/);
    expect(stdout).toMatch(/Llama-3\.3-70B on 32x ml\.p5\.48xlarge \(256 GPUs\): TP\d/);
  });

  test('--tp --pp --cp --dp --vp --mbs pin those sizes; the search picks the rest, as the library does', () => {
    const { code, stdout } = cli(...PLAN, '--tp', '8', '--pp', '2', '--vp', '4', '--json');
    expect(code).toBe(EXIT_OK);
    const out = JSON.parse(stdout);
    const lib = planTraining({ model: findModel('llama-3.3-70b'), instanceType: 'ml.p5.48xlarge', nodes: 32,
      tokens: 314e9, sequenceLength: 8192, globalBatchSize: 1024, pinnedLayout: { tp: 8, pp: 2, vp: 4 } });
    expect(out.layout).toMatchObject({ tp: 8, pp: 2, vp: 4 });
    expect(out.layout).toEqual(lib.layout);
    expect(out.pinnedLayout).toEqual({ tp: 8, pp: 2, vp: 4 });
    expect(out.days).toBeCloseTo(lib.days, 9);
    const all = JSON.parse(cli(...PLAN, '--tp', '8', '--pp', '4', '--cp', '1', '--dp', '8', '--mbs', '1', '--vp', '1',
      '--json').stdout);
    expect(all.layout).toEqual({ tp: 8, pp: 4, cp: 1, dp: 8, mbs: 1, vp: 1 });
  });

  test('a pinned VP or micro-batch beyond --max-vp / --max-mbs is still tried', () => {
    const out = JSON.parse(cli(...PLAN, '--tp', '8', '--pp', '2', '--vp', '10', '--max-vp', '2', '--json').stdout);
    expect(out.layout).toMatchObject({ tp: 8, pp: 2, vp: 10 });
  });

  test('without a pin the plan records none', () => {
    expect(JSON.parse(cli(...PLAN, '--json').stdout).pinnedLayout).toBeUndefined();
  });
});

describe('errors exit 2 and say what is allowed', () => {
  test.each([
    ['unknown model', ['estimate', '--model', 'gpt-5', '--gpu', 'h100-80gb'], /must be one of llama-2-7b, .*qwen2\.5-72b/],
    ['unknown GPU', ['estimate', '--model', 'llama-3.1-8b', '--gpu', 'b200'], /a100-40gb, .*h200-141gb, got 'b200'/],
    ['unknown instance', PLAN.map((a) => (a === 'ml.p5.48xlarge' ? 'ml.p9.48xlarge' : a)), /ml\.p5\.48xlarge.*got 'ml\.p9/],
    ['TP·PP·CP·DP != GPUs', [...ESTIMATE, '--gpus', '8'], /TP·PP·CP·DP must equal the GPU count 8, got 2·1·1·2 = 4/],
    ['TP beyond the KV heads', ['estimate', '--model', 'llama-3.1-8b', '--gpu', 'h100-94gb', '--tp', '16'],
      /TP must divide the 8 KV heads/],
    ['PP that cannot split the layers', ['estimate', '--model', 'llama-3.1-8b', '--gpu', 'h100-80gb', '--pp', '20'],
      /PP must divide the 32 layers \(1, 2, 4, 8, 16, 32\) or, from 3 stages, split them .*\(3, 5, 6, 7, 9, 11, 12, 17\), got 20/],
    ['interleaving uneven stages', ['estimate', '--model', 'llama-3.1-405b', '--instance', 'ml.p5.48xlarge', '--tp', '8',
      '--pp', '16', '--dp', '8', '--gbs', '2048', '--vp', '3'],
      /uneven pipeline stages \(7 \+ 14×8 \+ 7 layers\) .* divisible by VP \(Megatron-LM core_v0\.15\.3\), got VP 3/],
    ['bad number', [...ESTIMATE.slice(0, 5), '--tp', 'two'], /tp must be a number, got 'two'/],
    ['unknown option', ['search', '--bogus'], /Unknown option '--bogus'/],
    ['bad recompute', [...ESTIMATE, '--recompute', 'some'], /recompute must be one of none, selective, full/],
    ['bad FSx tier', [...PLAN, '--fsx-tib', '48', '--fsx-throughput', '300'], /125, 250, 500, 1000/],
    ['missing GPU', ['search', '--model', 'llama-3.1-8b', '--gpus', '8'], /gpu is required \(or --instance\)/],
    ['unknown command', ['train'], /unknown command 'train'; commands: estimate, search, plan/],
    ['pinned VP 0', [...PLAN, '--vp', '0'], /vp must be a positive integer, got 0/],
    ['negative pinned TP', [...PLAN, '--tp', '-8'], /tp must be a positive integer, got -8/],
    ['pinned TP that is no number', [...PLAN, '--pp', 'two'], /pp must be a number, got 'two'/],
    ['pinned TP that divides no head count', [...PLAN, '--tp', '3'],
      /layout not found: Llama-3\.3-70B fits no valid layout with TP3 of 256 .*change or drop the pinned sizes/],
    ['pinned layout that does not fit', [...PLAN, '--tp', '1', '--pp', '1', '--cp', '1'],
      /fits no valid layout with TP1 PP1 CP1 of 256 H100 80GB GPUs/],
  ])('%s', (_name, argv, message) => {
    const { code, stderr, stdout } = cli(...argv);
    expect(code).toBe(EXIT_BAD_INPUT);
    expect(stderr).toMatch(message);
    expect(stdout).toBe('');
  });
});

describe('nothing fits: search and plan exit the same way', () => {
  const SEARCH_405B = ['search', '--model', 'llama-3.1-405b', '--instance', 'ml.p5.48xlarge', '--gpus', '8'];
  const PLAN_405B = ['plan', '--model', 'llama-3.1-405b', '--instance', 'ml.p5.48xlarge', '--nodes', '1',
    '--tokens', '1e12'];
  const firstLine = (text: string) => text.split('\n')[0];

  test('the same exit code and message, text or --json', () => {
    const search = cli(...SEARCH_405B);
    const plan = cli(...PLAN_405B);
    expect(search).toMatchObject({ code: EXIT_BAD_INPUT, stdout: '' });
    expect(plan).toMatchObject({ code: EXIT_BAD_INPUT, stdout: '' });
    expect(firstLine(search.stderr)).toBe('error: layout not found: Llama-3.1-405B fits no valid layout of 8 H100 80GB '
      + 'GPUs (ml.p5.48xlarge) at sequence 8192; add nodes, pick a larger GPU, enable recomputation or raise the '
      + 'memory threshold');
    expect(firstLine(plan.stderr)).toBe(firstLine(search.stderr));
    expect(cli(...SEARCH_405B, '--json')).toEqual(search);
    expect(cli(...PLAN_405B, '--json')).toEqual(plan);
  });

  test('--all lists layouts that do not fit, but no valid layout at all is the same error', () => {
    expect(cli(...SEARCH_405B, '--all', '--top', '1').code).toBe(EXIT_OK);
    const none = cli('search', '--model', 'llama-3.1-8b', '--gpu', 'h100-80gb', '--gpus', '13', '--all');
    expect(none).toMatchObject({ code: EXIT_BAD_INPUT, stdout: '' });
    expect(none.stderr).toMatch(/^error: layout not found: Llama-3\.1-8B fits no valid layout of 13 H100 80GB GPUs \(8 per node\)/);
  });
});

describe('a batch larger than the token budget', () => {
  test('is an input error naming the batch, the sequence and the tokens', () => {
    const { code, stdout, stderr } = cli(...PLAN.map((a) => (a === '314e9' ? '1e6' : a)));
    expect({ code, stdout }).toEqual({ code: EXIT_BAD_INPUT, stdout: '' });
    expect(stderr).toMatch(/^error: tokens must be at least one step, global batch × sequence = 1024 × 8192 = 8388608, got 1000000\n/);
  });

  test('exactly one step is a plan', () => {
    const { code, stdout } = cli(...PLAN.map((a) => (a === '314e9' ? String(1024 * 8192) : a)), '--json');
    expect(code).toBe(EXIT_OK);
    expect(JSON.parse(stdout).steps).toBe(1);
  });
});

describe('typos suggest the nearest id; negative numbers get the planner\'s own error', () => {
  test.each([
    ['model', ['estimate', '--model', 'llama-3.1-8bb', '--gpu', 'h100-80gb'], /got 'llama-3\.1-8bb' \(did you mean 'llama-3\.1-8b'\?\)/],
    ['GPU', ['estimate', '--model', 'llama-3.1-8b', '--gpu', 'h100-80'], /got 'h100-80' \(did you mean 'h100-80gb'\?\)/],
    ['instance type', PLAN.map((a) => (a === 'ml.p5.48xlarge' ? 'ml.p5.48xlarg' : a)), /got 'ml\.p5\.48xlarg' \(did you mean 'ml\.p5\.48xlarge'\?\)/],
    ['profile', ['plan', '--profile', 'swalow-70b'], /got 'swalow-70b' \(did you mean 'swallow-70b'\?\)/],
    ['recompute mode', [...ESTIMATE, '--recompute', 'ful'], /got 'ful' \(did you mean 'full'\?\)/],
    ['option', [...SEARCH, '--gpuss', '8'], /^error: Unknown option '--gpuss' \(did you mean '--gpus'\?\)/],
    ['long option', [...ESTIMATE, '--gpus-per-nod', '4'], /^error: Unknown option '--gpus-per-nod' \(did you mean '--gpus-per-node'\?\)/],
    ['option of another command', [...ESTIMATE, '--tokens', '1e9'], /^error: Unknown option '--tokens'\n/],
    ['command', ['serch'], /^error: unknown command 'serch' \(did you mean 'search'\?\); commands: estimate, search, plan, quotas/],
    ['negative nodes', [...PLAN, '--nodes', '-4'], /^error: nodes must be a positive integer, got -4\n/],
    ['negative tokens', [...PLAN, '--tokens', '-1e9'], /^error: tokens must be a number greater than 0, got -1000000000\n/],
    ['negative batch', [...SEARCH, '--gbs', '-8'], /^error: gbs must be a positive integer, got -8\n/],
    ['negative sequence', [...ESTIMATE, '--seq', '-8192'], /^error: seq must be a positive integer, got -8192\n/],
    ['negative GPUs, = form', ['search', '--model', 'llama-3.1-8b', '--gpu', 'h100-80gb', '--gpus=-8'], /^error: gpus must be a positive integer, got -8\n/],
  ])('%s', (_name, argv, message) => {
    const { code, stdout, stderr } = cli(...argv);
    expect({ code, stdout }).toEqual({ code: EXIT_BAD_INPUT, stdout: '' });
    expect(stderr).toMatch(message);
  });

  test('a far-off value gets no suggestion', () => {
    expect(cli('estimate', '--model', 'gpt-5', '--gpu', 'h100-80gb').stderr).not.toContain('did you mean');
    expect(cli('train').stderr).not.toContain('did you mean');
  });
});

describe('help', () => {
  test.each(['estimate', 'search', 'plan'])('%s --help lists its options and the valid ids', (command) => {
    const { code, stdout } = cli(command, '--help');
    expect(code).toBe(EXIT_OK);
    expect(stdout).toContain(`cdk-hyperpod-plan ${command}`);
    expect(stdout).toContain('--json');
    expect(stdout).toContain(modelIds().join(', '));
    expect(stdout).toMatch(/Example: cdk-hyperpod-plan /);
  });

  test('no command prints the usage', () => {
    const { code, stdout } = cli();
    expect(code).toBe(EXIT_OK);
    expect(stdout).toMatch(/Commands:\n {2}estimate/);
    expect(stdout).toContain('ml.p5.48xlarge');
  });
});

describe('layouts that span nodes', () => {
  test('estimate predicts TP 8 on 4-GPU nodes (the grid ran it) instead of refusing it', () => {
    const { code, stdout } = cli('estimate', '--model', 'llama-3.1-8b', '--gpu', 'h100-94gb', '--tp', '8', '--json');
    expect(code).toBe(EXIT_OK);
    expect(JSON.parse(stdout).tflopsPerGpu).toBeGreaterThan(0);
  });
});
