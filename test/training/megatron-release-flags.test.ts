import * as fs from 'fs';
import * as path from 'path';
import { findModel } from '../../lib/planner/models';
import { planTraining, TrainingPlan } from '../../lib/planner/plan';
import { Recomputation } from '../../lib/planner/layout';
import { SWALLOW_70B_PLAN, SWALLOW_70B_DATA_MIXTURE } from '../../lib/platform/profiles';
import { MEGATRON_RELEASE } from '../../lib/training/megatron-release';
import { renderMegatronSbatch } from '../../lib/training/megatron-launch';
import { flagsOf, runLaunch } from './launch-harness';

/*
 * Every flag that any generated launch passes to pretrain_gpt.py, in every mode of megatron-launch.sh, is one the
 * pinned release's argument parser defines (argparse with allow_abbrev=False: an unknown flag stops the run).
 * test/fixtures/megatron-lm/core_v0.15.3.txt lists them (from the release's source).
 */

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'megatron-lm');
const ACCEPTED = new Set(fs.readFileSync(path.join(FIXTURES, `${MEGATRON_RELEASE.tag}.txt`), 'utf8').split('\n').filter(Boolean));

/** Layouts pinned where the case is about one (CP, TP 1, virtual stages, uneven stages), not the search's pick. */
const PLANS: Record<string, TrainingPlan> = {
  swallow: SWALLOW_70B_PLAN,
  contextParallel: planTraining({ model: findModel('llama-3.3-70b'), instanceType: 'ml.p5en.48xlarge', nodes: 8,
    tokens: 1e11, sequenceLength: 16384, globalBatchSize: 1024, pinnedLayout: { tp: 4, pp: 2, cp: 2, vp: 1 } }),
  tp1: planTraining({ model: findModel('llama-3.1-8b'), instanceType: 'ml.p5.48xlarge', nodes: 1, tokens: 1e10,
    sequenceLength: 4096, globalBatchSize: 512, pinnedLayout: { tp: 1, pp: 1, cp: 4 } }),
  qwen: planTraining({ model: findModel('qwen2.5-7b'), instanceType: 'ml.p5.48xlarge', nodes: 1, tokens: 1e10,
    sequenceLength: 32768, globalBatchSize: 128, options: { recomputation: Recomputation.SELECTIVE },
    pinnedLayout: { tp: 4, pp: 2, vp: 7 } }),
  llama2: planTraining({ model: findModel('llama-2-7b'), instanceType: 'ml.g5.48xlarge', nodes: 2, tokens: 1e9,
    sequenceLength: 4096, globalBatchSize: 256, options: { recomputation: Recomputation.FULL } }),
  unevenStages: planTraining({ model: findModel('llama-3.1-405b'), instanceType: 'ml.p5.48xlarge', nodes: 128,
    tokens: 1e12, sequenceLength: 8192, globalBatchSize: 2048, options: { recomputation: Recomputation.FULL },
    pinnedLayout: { tp: 4, pp: 16, cp: 1, mbs: 1, vp: 1 } }),
};

/** The modes of megatron-launch.sh and the inputs each needs. */
const MODES: Record<string, (fsx: string) => Record<string, string>> = {
  'train from the base': (fsx) => {
    const base = path.join(fsx, 'checkpoints', 'base', 'torch_dist');
    fs.mkdirSync(base, { recursive: true });
    fs.writeFileSync(path.join(base, 'latest_checkpointed_iteration.txt'), 'release\n');
    return { BASE_CHECKPOINT: base, STUB_SQUEUE_END: '2030-01-01T00:00:00' };
  },
  probe: () => ({ PROBE_ITERS: '30', BASE_CHECKPOINT: '' }),
  'probe with mock data': () => ({ PROBE_ITERS: '30', MOCK_DATA: '1', BASE_CHECKPOINT: '' }),
  convert: (fsx) => {
    const legacy = path.join(fsx, 'legacy');
    fs.mkdirSync(legacy, { recursive: true });
    fs.writeFileSync(path.join(legacy, 'latest_checkpointed_iteration.txt'), 'release\n');
    return { CONVERT_FROM: legacy, CONVERT_TO: path.join(fsx, 'base') };
  },
  export: (fsx) => {
    fs.mkdirSync(path.join(fsx, 'checkpoints', 'run', 'iter_0000100'), { recursive: true });
    return { EXPORT_ITERATION: '100', CKPT_DIR: path.join(fsx, 'checkpoints', 'run') };
  },
};

/** A node count the plan's layout can run on (the full plan, or one model replica for conversions). */
function nodesFor(plan: TrainingPlan, mode: string): string {
  return String(mode === 'convert' || mode === 'export' ? Math.max(1, plan.layout.tp * plan.layout.pp * plan.layout.cp / (plan.gpus / plan.nodes)) : plan.nodes);
}

describe(`every flag of every generated launch is one ${MEGATRON_RELEASE.tag} accepts`, () => {
  test('the fixture is the pinned release', () => {
    const releases = fs.readFileSync(path.join(FIXTURES, 'releases.tsv'), 'utf8');
    expect(releases).toMatch(new RegExp(`^${MEGATRON_RELEASE.tag}\\t\\t${MEGATRON_RELEASE.commit}\\t`, 'm'));
    expect(ACCEPTED.size).toBe(575);
  });

  // Conversions of uneven layouts are refused (below); their training and probe runs are checked.
  const cases = Object.entries(PLANS).flatMap(([name, plan]) => Object.keys(MODES)
    .filter((mode) => name !== 'unevenStages' || !['convert', 'export'].includes(mode)).map((mode) => [name, mode, plan] as const));
  test.each(cases)('%s, %s', (name, mode, plan) => {
    const script = renderMegatronSbatch(plan, name === 'swallow' ? { dataMixture: SWALLOW_70B_DATA_MIXTURE } : {});
    const run = runLaunch(script, (fsx) => ({ SLURM_JOB_NUM_NODES: nodesFor(plan, mode), ...MODES[mode](fsx) }));
    expect(run.output).not.toMatch(/ERROR/);
    expect(run.status).toBe(0);
    expect(run.args.length).toBeGreaterThan(50);
    expect(flagsOf(run.args).filter((f) => !ACCEPTED.has(f))).toEqual([]);
  });

  test('conversions refuse uneven pipeline stages, which tools/checkpoint/convert.py cannot write', () => {
    const run = runLaunch(renderMegatronSbatch(PLANS.unevenStages), (fsx) => ({ SLURM_JOB_NUM_NODES: '8', ...MODES.convert(fsx) }));
    expect(run.status).toBe(2);
    expect(run.output).toContain('conversions need even pipeline stages');
    expect(run.args).toEqual([]);
  });

  test('a flag the release does not have is caught: --use-persistent-ckpt-worker exists, a made-up one does not', () => {
    expect(ACCEPTED.has('--use-persistent-ckpt-worker')).toBe(true);
    expect(ACCEPTED.has('--exit-signal')).toBe(false);
  });
});
