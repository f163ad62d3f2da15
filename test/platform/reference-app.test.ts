// The README's first command, as a newcomer types it: `npx cdk synth` of bin/app.ts with the README's context,
// through the CDK CLI, with no AWS account (no credentials, no network calls: the app has no lookups).
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.join(__dirname, '..', '..');

/** The `npx cdk synth …` of the README's first command block, split into arguments. */
function readmeSynthArgs(): string[] {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const block = /```bash\n([\s\S]*?)```/.exec(readme)![1];
  const command = /npx cdk synth([^#\n]*)/.exec(block)![1].trim();
  return command.split(/\s+/).filter(Boolean);
}

function cdkSynth(args: string[], outdir: string) {
  // No credentials or region from the machine: the synth must not need them. No CDK_VALIDATION from the test
  // setup either: this is the synth with every check, as the README runs it.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^AWS_|^CDK_DEFAULT_|^CDK_VALIDATION$/.test(k)));
  return spawnSync('npx', ['cdk', 'synth', ...args, '--quiet', '--no-notices', '--no-version-reporting', '--output', outdir],
    { cwd: ROOT, encoding: 'utf8', env: { ...env, HOME: outdir, AWS_EC2_METADATA_DISABLED: 'true' } });
}

describe('the reference app through the CDK CLI', () => {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-hyperpod-readme-'));
  afterAll(() => fs.rmSync(outdir, { recursive: true, force: true }));

  test('the README\'s first command synthesizes the swallow-70b platform with every compliance check', () => {
    const args = readmeSynthArgs();
    expect(args).toEqual(['-c', 'availabilityZoneId=use1-az6']);
    const result = cdkSynth(args, path.join(outdir, 'readme'));
    expect([result.status, result.stderr]).toEqual([0, expect.not.stringContaining('Error')]);
    const template = JSON.parse(fs.readFileSync(path.join(outdir, 'readme', 'TrainingPlatform.template.json'), 'utf8'));
    const cluster = Object.values<any>(template.Resources).find((r) => r.Type === 'AWS::SageMaker::Cluster');
    expect(cluster.Properties.InstanceGroups.map((g: any) => g.InstanceCount)).toEqual([1, 1, 32]);
    // This synth is the one that runs the schema validation, cdk-nag and cfn-guard over the training image too
    // (the unit suites synthesize without them).
    const types = new Set(Object.values<any>(template.Resources).map((r) => r.Type));
    for (const type of ['AWS::CodeBuild::Project', 'AWS::ECR::Repository', 'AWS::FSx::FileSystem', 'AWS::APS::Workspace']) {
      expect(types).toContain(type);
    }
  }, 120_000);

  test('without an AZ ID it stops with one clean line that says what to pass, and writes no template', () => {
    const result = cdkSynth([], path.join(outdir, 'no-az'));
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/TrainingPlatform.*availabilityZoneId/);
    expect(result.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
    expect(fs.existsSync(path.join(outdir, 'no-az', 'TrainingPlatform.template.json'))).toBe(false);
  }, 120_000);
});

describe('CI runs what the README says', () => {
  test('.ci/run installs with npm ci and runs the README\'s test command (then the rehearsal, where it can)', () => {
    const block = /```bash\n([\s\S]*?)```/.exec(fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8'))![1];
    const testCommand = block.split('\n')[1].replace(/#.*/, '').trim();
    expect(testCommand).toBe('npm test');
    const commands = fs.readFileSync(path.join(ROOT, '.ci', 'run'), 'utf8').split('\n')
      .map((l) => l.trim()).filter((l) => /^npm /.test(l));
    expect(commands).toEqual(['npm ci --no-audit --no-fund', testCommand, 'npm run test:rehearsal']);
  });
});
