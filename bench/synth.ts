// npm run bench:synth — what synthesizing the reference app costs, part by part, against a bare app run the
// same way (one no-op resource; CloudFormation validation refuses an empty stack).
//
// Each rung of the ladder adds one check to the one before:
//   library alone        built-in CloudFormation validation off, no cdk-nag, no cfn-guard  vs bare, validation off
//   + schema validation  CDK_VALIDATION on (validateAgainstDefaultRules from cdk.json)      vs bare, validation on
//   + cdk-nag            AwsSolutions (-c compliance=nag)                                   vs bare, validation on
//   + cfn-guard          Control Tower controls (-c compliance=full: what `npx cdk synth` runs) vs bare, validation on
// A run is one whole process, launched as cdk.json launches the app, measured in CPU seconds (user + sys of
// the process and its children, e.g. the cfn-guard binary) and wall seconds. Runs are paired (bare, then
// reference, alternately), the ratio is taken per pair and the median of the ratios is printed, so a
// machine that gets busier during the run moves both sides of a pair together.
// BENCH_RUNS (default 5) pairs per rung; BENCH_PROFILE (default swallow-70b); BENCH_AZ_ID (default use1-az6).
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.join(__dirname, '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const PROFILE = process.env.BENCH_PROFILE ?? 'swallow-70b';
/** Accelerated profiles need an AZ ID; the README's example one. */
const AZ_ID = process.env.BENCH_AZ_ID ?? 'use1-az6';
const CONTEXT = JSON.parse(fs.readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')).context;
/** The launcher cdk.json uses, minus the script: `node --import tsx`. */
const LAUNCHER = launcher();

interface Sample { readonly cpu: number; readonly wall: number }
interface Rung { readonly label: string; readonly validation: boolean; readonly compliance: string }

const RUNGS: Rung[] = [
  { label: 'library alone', validation: false, compliance: 'none' },
  { label: '+ schema validation', validation: true, compliance: 'none' },
  { label: '+ cdk-nag', validation: true, compliance: 'nag' },
  { label: '+ cfn-guard (= cdk synth)', validation: true, compliance: 'full' },
];

function launcher(): string[] {
  const app: string = JSON.parse(fs.readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')).app;
  const words = app.split(/\s+/);
  if (words[0] !== 'node' || words[words.length - 1] !== 'bin/app.ts') {
    throw new Error(`bench/synth.ts expects cdk.json's app to be "node … bin/app.ts", got '${app}'`);
  }
  return words.slice(1, -1);
}

/** One synth in its own process; bash's `times` gives the CPU of the process and everything it waited for. */
function run(script: string, validation: boolean, context: Record<string, unknown>): Sample {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-synth-'));
  try {
    const command = `${['node', ...LAUNCHER, script].join(' ') } >/dev/null || exit $?; times`;
    const started = process.hrtime.bigint();
    const result = spawnSync('bash', ['-c', command], {
      cwd: ROOT,
      encoding: 'utf8',
      env: {
        ...process.env,
        CDK_OUTDIR: outdir,
        CDK_VALIDATION: validation ? 'true' : 'false',
        CDK_CONTEXT_JSON: JSON.stringify({ ...CONTEXT, ...context }),
      },
    });
    const wall = Number(process.hrtime.bigint() - started) / 1e9;
    if (result.status !== 0) throw new Error(`${script} failed:\n${result.stderr}`);
    // `times` prints the shell's own user/sys, then its children's: "0m0.001s 0m0.002s\n0m1.234s 0m0.100s".
    const children = result.stdout.trim().split('\n').pop()!.split(/\s+/).map(seconds);
    return { cpu: children[0] + children[1], wall };
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

function seconds(text: string): number {
  const match = /^(\d+)m([\d.]+)s$/.exec(text);
  if (!match) throw new Error(`cannot read a time from '${text}'`);
  return Number(match[1]) * 60 + Number(match[2]);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function measure(rung: Rung): void {
  const bare: Sample[] = [];
  const reference: Sample[] = [];
  for (let i = 0; i < RUNS; i++) {
    bare.push(run('bench/bare-app.ts', rung.validation, {}));
    reference.push(run('bin/app.ts', rung.validation, { profile: PROFILE, availabilityZoneId: AZ_ID, compliance: rung.compliance }));
  }
  const ratios = bare.map((b, i) => reference[i].cpu / b.cpu);
  const med = (samples: Sample[], key: keyof Sample) => median(samples.map((s) => s[key])).toFixed(2);
  console.log([
    rung.label.padEnd(27),
    `bare ${med(bare, 'cpu')} s`.padEnd(12),
    `reference ${med(reference, 'cpu')} s`.padEnd(17),
    `ratio ${median(ratios).toFixed(2)}x`.padEnd(13),
    `(wall: bare ${med(bare, 'wall')} s, reference ${med(reference, 'wall')} s)`,
  ].join(' '));
}

console.log(`synth of the reference app (${PROFILE}), CPU seconds, median of ${RUNS} paired runs, `
  + `launched as cdk.json does: node ${LAUNCHER.join(' ')} <app>`);
for (const rung of RUNGS) measure(rung);
