// npm run bench:synth — wall time of synthesizing the reference app (each profile) against a bare app with one
// empty stack, both run the way `cdk synth` runs them (tsx, cdk.json context, CDK_OUTDIR), median of N runs.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.join(__dirname, '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const context = JSON.parse(fs.readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')).context;

function synthSeconds(app: string, extraContext: Record<string, string> = {}): number {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-synth-'));
  const start = process.hrtime.bigint();
  const run = spawnSync(process.execPath, ['--import', 'tsx', app], {
    cwd: ROOT,
    env: { ...process.env, CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: JSON.stringify({ ...context, ...extraContext }) },
    encoding: 'utf8',
  });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  fs.rmSync(outdir, { recursive: true, force: true });
  if (run.status !== 0) throw new Error(`${app} failed:\n${run.stderr}`);
  return seconds;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function measure(label: string, app: string, extraContext?: Record<string, string>): number {
  const times = Array.from({ length: RUNS }, () => synthSeconds(app, extraContext));
  const m = median(times);
  console.log(`${label.padEnd(28)} median ${m.toFixed(2)} s  (runs: ${times.map((t) => t.toFixed(2)).join(', ')})`);
  return m;
}

const bare = measure('bare app, one empty stack', 'bench/bare-app.ts');
for (const profile of ['swallow-70b', 'smoke']) {
  const reference = measure(`reference app (${profile})`, 'bin/app.ts', { profile });
  console.log(`${''.padEnd(28)} ratio to bare: ${(reference / bare).toFixed(2)}x`);
}
