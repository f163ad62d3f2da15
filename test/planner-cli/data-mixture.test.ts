import { mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { EXIT_BAD_INPUT, EXIT_OK, runCli } from '../../lib/planner-cli/cli';
import { SWALLOW_70B_DATA_MIXTURE, SWALLOW_70B_PLAN } from '../../lib/platform/profiles';

function cli(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = runCli(argv, { stdout: (t) => { stdout += t; }, stderr: (t) => { stderr += t; } });
  return { code, stdout, stderr };
}

const dir = mkdtempSync(join(tmpdir(), 'plan-mixture-'));

/** Writes `content` (JSON unless a string) to a file of the test directory and returns its path. */
function file(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

const RUN = ['plan', '--model', 'llama-3.3-70b', '--instance', 'ml.p5.48xlarge', '--nodes', '32', '--tokens', '100e9'];
const MIXTURE = { sources: [
  { name: 'web', prefix: 'web/text_document', tokens: 200e9, weight: 3 },
  { name: 'code', prefix: 'code/text_document', tokens: 30e9, weight: 1 },
  { name: 'wiki', prefix: 'wiki/text_document', tokens: 5e9, epochs: 2 },
] };

describe('plan --profile', () => {
  test('plans the profile\'s run as the profile did, with its mixture: tokens and epochs per source', () => {
    const { code, stdout } = cli('plan', '--profile', 'swallow-70b', '--json');
    expect(code).toBe(EXIT_OK);
    const out = JSON.parse(stdout);
    expect(out).toMatchObject({ nodes: 32, tokens: 314e9, layout: SWALLOW_70B_PLAN.layout,
      checkpointIntervalMinutes: 60, recommendedFsx: SWALLOW_70B_PLAN.recommendedFsx });
    expect(out.days).toBeCloseTo(SWALLOW_70B_PLAN.days, 10);
    expect(out.dataMixture.map((s: { name: string }) => s.name))
      .toEqual(SWALLOW_70B_DATA_MIXTURE.sources.map((s) => s.name));
    const total = out.dataMixture.reduce((sum: number, s: { plannedTokens: number }) => sum + s.plannedTokens, 0);
    expect(total).toBeCloseTo(314e9, -3);
    expect(out.dataMixture.find((s: { name: string }) => s.name === 'ja-wikipedia')).toMatchObject({ epochs: 2 });
  });

  test('flags replace what the profile gives', () => {
    const out = JSON.parse(cli('plan', '--profile', 'swallow-70b', '--nodes', '64', '--json').stdout);
    expect(out).toMatchObject({ nodes: 64, gpus: 512, tokens: 314e9 });
    expect(out.days).toBeLessThan(SWALLOW_70B_PLAN.days * 0.6);
    // One architecture flag replaces the profile's model, so the others are then needed.
    expect(cli('plan', '--profile', 'swallow-70b', '--layers', '40').stderr)
      .toMatch(/model needs all architecture flags; missing --hidden --ffn --heads --kv-heads --vocab/);
  });

  test('a profile without a plan gives its nodes; the run must still be given', () => {
    const small = ['--hidden', '2048', '--ffn', '8192', '--layers', '16', '--heads', '16', '--kv-heads', '8',
      '--vocab', '32000', '--seq', '2048', '--gbs', '64'];
    expect(cli('plan', '--profile', 'smoke', ...small).stderr).toMatch(/tokens is required/);
    const out = JSON.parse(cli('plan', '--profile', 'smoke', ...small, '--tokens', '1e9', '--json').stdout);
    expect(out).toMatchObject({ instanceType: 'ml.g5.2xlarge', nodes: 2 });
    expect(out.dataMixture).toBeUndefined();
  });

  test('an unknown profile is an input error listing the known ones', () => {
    const { code, stderr } = cli('plan', '--profile', 'swalow-70b');
    expect(code).toBe(EXIT_BAD_INPUT);
    expect(stderr).toMatch(/profile must be one of swallow-70b, smoke, got 'swalow-70b' \(did you mean 'swallow-70b'\?\)/);
  });
});

describe('plan --data-mixture', () => {
  test('prints the tokens and epochs of every source; weighted sources share what the epoch sources leave', () => {
    const { code, stdout } = cli(...RUN, '--data-mixture', file('ok.json', MIXTURE));
    expect(code).toBe(EXIT_OK);
    // 100B: wiki 2 × 5B = 10B; web and code share 90B as 3 : 1.
    expect(stdout).toMatch(/Data mixture: 100\.0B tokens/);
    expect(stdout).toMatch(/web\s+67\.5B\s+67\.5%\s+200\.0B\s+0\.34/);
    expect(stdout).toMatch(/code\s+22\.5B\s+22\.5%\s+30\.0B\s+0\.75/);
    expect(stdout).toMatch(/wiki\s+10\.0B\s+10\.0%\s+5\.0B\s+2\.00/);
  });

  test('the launch script gets the weighted data paths', () => {
    const sbatch = join(dir, 'mix.sbatch');
    expect(cli(...RUN, '--data-mixture', file('ok.json', MIXTURE), '--emit-sbatch', sbatch).code).toBe(EXIT_OK);
    const blend = readFileSync(sbatch, 'utf8').match(/DATA_BLEND=\(\n([\s\S]*?)\n\)/)![1].trim().split(/\s+/);
    expect(blend).toEqual(['0.675', '/fsx/datasets/web/text_document', '0.225', '/fsx/datasets/code/text_document',
      '0.1', '/fsx/datasets/wiki/text_document']);
  });

  test('--data-mixture replaces the profile\'s mixture', () => {
    const out = JSON.parse(cli('plan', '--profile', 'swallow-70b', '--data-mixture',
      file('big.json', { sources: [{ name: 'all', prefix: 'all/text_document', tokens: 400e9, weight: 1 }] }),
      '--json').stdout);
    expect(out.dataMixture).toEqual([expect.objectContaining({ name: 'all', plannedTokens: 314e9, weight: 1 })]);
  });

  const source = MIXTURE.sources[0];
  test.each([
    ['a weight of 0', { sources: [{ ...source, weight: 0 }] }, /weight must be greater than 0, got 0 for web/],
    ['a negative weight', { sources: [{ ...source, weight: -1 }] }, /weight must be greater than 0, got -1 for web/],
    ['a source without prefix', { sources: [{ name: 'web', tokens: 1e12, weight: 1 }] },
      /sources\[0\]\.prefix is required/],
    ['a source without tokens', { sources: [{ name: 'web', prefix: 'web/text_document', weight: 1 }] },
      /sources\[0\]\.tokens is required/],
    ['tokens as text', { sources: [{ ...source, tokens: '200e9' }] }, /sources\[0\]\.tokens must be a number, got "200e9"/],
    ['a misspelt key', { sources: [{ name: 'web', prefix: 'web/text_document', tokens: 1e12, weigth: 1 }] },
      /sources\[0\] has an unknown key 'weigth': allowed are name, prefix, tokens, weight, epochs, note/],
    ['neither weight nor epochs', { sources: [{ name: 'web', prefix: 'web/text_document', tokens: 1e12 }] },
      /web must give exactly one of weight and epochs/],
    ['no sources', { sources: [] }, /must name at least one source/],
    ['no sources key', [MIXTURE.sources], /must be an object \{"sources": \[\.\.\.\]\}, got an array/],
    ['the same source twice', { sources: [source, source] }, /name web twice/],
    ['a weighted source asked for more than it holds',
      { sources: [{ name: 'small', prefix: 'small/text_document', tokens: 40e9, weight: 1 }] },
      /small is weighted for 1\.000e\+11 tokens but holds 4\.000e\+10: give its epochs \(2\.50\) to repeat it/],
    ['epoch sources that make more than the run', { sources: [{ ...source, weight: undefined, epochs: 1 }] },
      /the sources given in epochs make 2\.000e\+11 tokens, the run 1\.000e\+11/],
  ])('%s is an input error', (name, mixture, message) => {
    const { code, stderr } = cli(...RUN, '--data-mixture', file(`${name.replace(/\W+/g, '-')}.json`, mixture));
    expect(code).toBe(EXIT_BAD_INPUT);
    expect(stderr).toMatch(message);
  });

  test('a file that is missing or not JSON is an input error naming it', () => {
    expect(cli(...RUN, '--data-mixture', join(dir, 'none.json')).stderr)
      .toMatch(/data-mixture cannot read '.*none\.json'/);
    const { code, stderr } = cli(...RUN, '--data-mixture', file('bad.json', '{"sources": ['));
    expect(code).toBe(EXIT_BAD_INPUT);
    expect(stderr).toMatch(/data-mixture '.*bad\.json' is not JSON/);
  });
});
