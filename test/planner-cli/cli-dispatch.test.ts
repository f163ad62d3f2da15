import { runCommand } from '../../lib/planner-cli/cli';

function capture() {
  const out = { stdout: '', stderr: '' };
  return { out, io: { stdout: (s: string) => { out.stdout += s; }, stderr: (s: string) => { out.stderr += s; } } };
}

describe('cdk-hyperpod-plan dispatch', () => {
  test('quotas goes to the quotas command, with the client it is given', async () => {
    const { out, io } = capture();
    const client = { getQuotaValue: async () => 10_000 };
    expect(await runCommand(['quotas', '--profile', 'smoke', '--check', '--region', 'us-east-1'], io, client)).toBe(0);
    expect(out.stdout).toMatch(/ml\.g5\.2xlarge for cluster usage/);
  });

  test('the planning commands run as before', async () => {
    const { out, io } = capture();
    expect(await runCommand(['estimate', '--model', 'llama-3.1-8b', '--gpu', 'h100-94gb', '--tp', '2', '--pp', '1',
      '--cp', '1', '--dp', '2', '--mbs', '1', '--seq', '8192', '--json'], io)).toBe(0);
    expect(JSON.parse(out.stdout).memoryGiB.weightsGradientsOptimizer).toBeCloseTo(44.8726, 3);
  });

  test('help lists quotas; an unknown command exits 2 naming every command', async () => {
    const help = capture();
    expect(await runCommand(['--help'], help.io)).toBe(0);
    expect(help.out.stdout).toMatch(/^ {2}quotas /m);
    const bad = capture();
    expect(await runCommand(['quota'], bad.io)).toBe(2);
    expect(bad.out.stderr).toMatch(/commands: estimate, search, plan, quotas/);
  });
});
