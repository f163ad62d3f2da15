import { PlannerInputError } from '../../lib/planner/errors';
import { checkLaunchRules, LaunchContext, MegatronArgument } from '../../lib/training/launch-rules';
import { MEGATRON_RELEASE, MegatronRelease } from '../../lib/training/megatron-release';

/** Rules of semantics.md, each with the smallest argument list that breaks it. */
const CTX: LaunchContext = { release: MEGATRON_RELEASE, numLayers: 80, dp: 16 };
const R09: MegatronRelease = { tag: 'core_r0.9.0', commit: '1afee592e85ac7994887eb5f4ef3998f76384333', version: [0, 9] };
const V016: MegatronRelease = { tag: 'core_v0.16.0', commit: '3bec9aa97dda898d16ff5a89bac0ed2b6682b172', version: [0, 16] };

const SWALLOW: MegatronArgument[] = [
  ['--tensor-model-parallel-size', '8'], ['--pipeline-model-parallel-size', '2'], ['--sequence-parallel'],
  ['--num-layers-per-virtual-pipeline-stage', '10'], ['--use-distributed-optimizer'], ['--overlap-grad-reduce'],
  ['--overlap-param-gather'], ['--micro-batch-size', '1'], ['--global-batch-size', '1024'],
  ['--tp-comm-overlap'], ['--tp-comm-bootstrap-backend', 'nccl'], ['--ckpt-format', 'torch_dist'], ['--async-save'],
  ['--data-path', '1', '/fsx/a'], ['--save', 'RUN'], ['--load', 'RUN'], ['--pretrained-checkpoint', '/fsx/base'],
];

function without(...flags: string[]): MegatronArgument[] {
  return SWALLOW.filter(([f]) => !flags.includes(f));
}
function withArgs(...args: MegatronArgument[]): MegatronArgument[] {
  const flags = new Set(args.map(([f]) => f));
  return [...SWALLOW.filter(([f]) => !flags.has(f)), ...args];
}

test('the swallow arguments pass on the pinned release', () => {
  expect(() => checkLaunchRules(SWALLOW, CTX)).not.toThrow();
});

test.each([
  ['§1 async save in the legacy format', withArgs(['--ckpt-format', 'torch']), CTX, /--async-save needs --ckpt-format torch_dist/],
  ['§1 async save from v0.16 without the persistent worker', SWALLOW, { ...CTX, release: V016 },
    /--async-save is switched off without --use-persistent-ckpt-worker from core_v0.16.0/],
  ['§2 TP overlap without sequence parallelism', without('--sequence-parallel'), CTX, /--tp-comm-overlap needs --sequence-parallel/],
  ['§2 TP overlap at TP 1', withArgs(['--tensor-model-parallel-size', '1']), CTX, /--tp-comm-overlap needs TP > 1/],
  ['§2 TP overlap without the NCCL bootstrap', without('--tp-comm-bootstrap-backend'), CTX,
    /--tp-comm-overlap under srun needs --tp-comm-bootstrap-backend nccl/],
  ['§2 TP overlap on core_r0.9.0 (MPI only)', SWALLOW, { ...CTX, release: R09 }, /bootstraps over MPI, which srun does not provide/],
  ['§3 param gather without the distributed optimizer', without('--use-distributed-optimizer'), CTX,
    /--overlap-param-gather needs --use-distributed-optimizer/],
  ['§4 virtual stages that do not divide the stage', withArgs(['--num-layers-per-virtual-pipeline-stage', '3']), CTX,
    /the 80 layers must split into PP 2 stages of whole virtual stages of 3 layers/],
  ['§4 virtual stages at PP 1', withArgs(['--pipeline-model-parallel-size', '1'], ['--num-layers-per-virtual-pipeline-stage', '10']), CTX,
    /virtual pipeline stages need PP > 1/],
  ['§4 micro-batches not a multiple of PP', withArgs(['--global-batch-size', '48'], ['--pipeline-model-parallel-size', '4']),
    { ...CTX, dp: 16 }, /micro-batches per step \(48 \/ \(1·16\) = 3\) to be a multiple of PP 4/],
  ['§4 both virtual-stage flags', withArgs(['--num-virtual-stages-per-pipeline-rank', '4']), CTX, /give one of/],
  ['§5 uneven stages with layers per virtual stage', withArgs(['--decoder-first-pipeline-num-layers', '38']), CTX,
    /uneven first\/last stages with virtual stages need --num-virtual-stages-per-pipeline-rank/],
  ['§5 uneven stages with interleaving on core_r0.9.0',
    [...without('--num-layers-per-virtual-pipeline-stage', '--tp-comm-overlap'), ['--num-virtual-stages-per-pipeline-rank', '2'],
      ['--decoder-first-pipeline-num-layers', '38']], { ...CTX, release: R09 }, /refuses uneven first\/last stages with the interleaved schedule/],
  ['§5 uneven stages whose layers are not divisible by VP',
    [...without('--num-layers-per-virtual-pipeline-stage'), ['--num-virtual-stages-per-pipeline-rank', '4'],
      ['--decoder-first-pipeline-num-layers', '38']], CTX, /the first stage's 38 layers must be divisible by VP 4/],
  ['§8 two data sources', [...SWALLOW, ['--mock-data']], CTX, /give one data source, got --mock-data, --data-path/],
  ['§6 a base checkpoint without --load RUN --save RUN', without('--load'), CTX,
    /--pretrained-checkpoint BASE needs --load RUN --save RUN/],
])('%s', (_name, args, ctx, message) => {
  expect(() => checkLaunchRules(args, ctx)).toThrow(PlannerInputError);
  expect(() => checkLaunchRules(args, ctx)).toThrow(message);
});

test('uneven stages with interleaving pass from core_r0.11.0 when every stage divides by VP', () => {
  const args: MegatronArgument[] = [...without('--num-layers-per-virtual-pipeline-stage'),
    ['--pipeline-model-parallel-size', '4'], ['--num-virtual-stages-per-pipeline-rank', '2'],
    ['--decoder-first-pipeline-num-layers', '18'], ['--decoder-last-pipeline-num-layers', '18'], ['--global-batch-size', '128']];
  expect(() => checkLaunchRules(args, { ...CTX, dp: 8 })).not.toThrow();
});
