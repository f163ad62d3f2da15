import * as fs from 'fs';
import * as path from 'path';
import { dashboardPreviews } from '../../docs/tools/dashboard-previews';
import { BackfilledPrometheus, startBackfilledPrometheus } from './backfilled-prometheus';
import { dashboards, PanelResult, runDashboards } from './dashboard-queries';
import { CLUSTER, HUNG_JOB, NODES, syntheticCluster, TRAINING_JOB } from './synthetic-cluster';

/**
 * The shipped dashboards against a real Prometheus holding the synthetic cluster of synthetic-cluster.ts (a 32-node
 * job with stragglers of every kind, a hung job, a broken node): one backfill and one Prometheus for the whole file.
 * Every panel target must return data, and every panel that ranks must put the node (or job) that was made to
 * stand out first. The docs pictures are drawn from these results; the last test fails when they drift.
 */

let prometheus: BackfilledPrometheus | undefined;
let results: PanelResult[];

beforeAll(async () => {
  prometheus = await startBackfilledPrometheus(syntheticCluster());
  results = await runDashboards(prometheus);
}, 60_000);

afterAll(async () => {
  await prometheus?.stop();
}, 15_000);

function panel(uid: string, title: string): PanelResult {
  const found = results.find((r) => r.dashboard.uid === uid && r.panel.title === title);
  if (!found) throw new Error(`no panel "${title}" on ${uid}`);
  return found;
}

/** The labels of the first row of a ranking panel: its first target, sorted by the query (sort, topk, bottomk). */
function first(uid: string, title: string): Record<string, string> {
  const [ranking] = panel(uid, title).targets;
  expect({ title, ranks: /^(sort|sort_desc|bottomk|topk)\(/.test(ranking.target.expr) }).toEqual({ title, ranks: true });
  return ranking.instant![0]?.metric ?? {};
}

test('every dashboard panel is queried', () => {
  const panels = dashboards().flatMap((d) => d.panels.filter((p) => p.type !== 'row').map((p) => `${d.uid}: ${p.title}`));
  expect(results.map((r) => `${r.dashboard.uid}: ${r.panel.title}`)).toEqual(panels);
  expect(results.length).toBeGreaterThan(60);
});

test('every target of every panel returns data', () => {
  const empty = results.flatMap((r) => r.targets
    .filter((t) => (t.instant ?? t.range ?? []).length === 0)
    .map((t) => `${r.dashboard.uid}: ${r.panel.title} ${t.target.refId}: ${t.query}`));
  expect(empty).toEqual([]);
});

test.each<[string, string, Record<string, string>]>([
  ['hyperpod-training-overview', 'Host/input-bound: GPU utilisation vs job peers', { hpc_job: TRAINING_JOB, Hostname: NODES.hostBound }],
  ['hyperpod-training-overview', 'Compute-bound: SM clock vs job peers', { hpc_job: TRAINING_JOB, Hostname: NODES.throttled }],
  ['hyperpod-training-overview', 'Network-bound: EFA traffic vs job peers', { hpc_job: TRAINING_JOB, Hostname: NODES.networkBound }],
  ['hyperpod-training-overview', 'Network-bound: EFA retransmits vs job median', { hpc_job: TRAINING_JOB, Hostname: NODES.retransmitting }],
  ['hyperpod-training-overview', 'Intermittent: share of the last hour slower than job peers', { hpc_job: TRAINING_JOB, Hostname: NODES.intermittent }],
  ['hyperpod-training-overview', 'Hang check: jobs with busy GPUs but no tensor work or EFA traffic', { hpc_job: HUNG_JOB }],
  ['hyperpod-training-job', 'Time since the last iteration', { hpc_job: HUNG_JOB }],
  ['hyperpod-training-job', 'Checkpoint age', { hpc_job: HUNG_JOB }],
  ['hyperpod-nodes', 'Stale textfile metrics', { Hostname: NODES.drained, file: '/var/lib/node_exporter/textfile/efa.prom' }],
  ['hyperpod-nodes', 'Devices missing', { Hostname: NODES.drained }],
])('%s "%s" ranks %j first', (uid, title, expected) => {
  expect(first(uid, title)).toMatchObject({ cluster: CLUSTER, ...expected });
});

test('the slowest GPUs are the hung job\'s, whose NCCL kernels hold few SMs', () => {
  expect(first('hyperpod-training-overview', 'Slowest GPUs in jobs')).toMatchObject({ hpc_job: HUNG_JOB });
});

test('the quietest EFA devices are on the nodes that move no traffic: the hung job\'s and the drained node\'s', () => {
  const quiet = first('hyperpod-efa', 'Quietest EFA devices');
  expect([...NODES.hung, NODES.drained]).toContain(quiet.Hostname);
});

test('the straggler panels leave out nodes outside any job and the hung job where it has no traffic to compare', () => {
  const listed = (title: string) => panel('hyperpod-training-overview', title).targets[0].instant!.map((s) => s.metric.Hostname);
  expect(listed('Host/input-bound: GPU utilisation vs job peers')).toHaveLength(36);
  expect(listed('Host/input-bound: GPU utilisation vs job peers')).not.toContain(NODES.drained);
  expect(listed('Network-bound: EFA traffic vs job peers')).toHaveLength(32);
});

test('values are in the units the panels declare', () => {
  const value = (uid: string, title: string, host: string) =>
    Number(panel(uid, title).targets[0].instant!.find((s) => s.metric.Hostname === host)!.value[1]);
  // Percent of peers: 55 % utilisation against 97 %; 1410 MHz against 1980; half the bytes; 500/2 capped at the floor of 10.
  expect(value('hyperpod-training-overview', 'Host/input-bound: GPU utilisation vs job peers', NODES.hostBound)).toBeCloseTo(100 * 55 / 97, 1);
  expect(value('hyperpod-training-overview', 'Compute-bound: SM clock vs job peers', NODES.throttled)).toBeCloseTo(100 * 1410 / 1980, 1);
  expect(value('hyperpod-training-overview', 'Network-bound: EFA traffic vs job peers', NODES.networkBound)).toBeCloseTo(50, 1);
  expect(value('hyperpod-training-overview', 'Network-bound: EFA retransmits vs job median', NODES.retransmitting)).toBeCloseTo(50, 1);
  expect(value('hyperpod-nodes', 'Devices missing', NODES.drained)).toBe(1);
  // The hung job last advanced in minute 69; the dashboard is read at minute 100.
  const since = panel('hyperpod-training-job', 'Time since the last iteration').targets[0].instant!;
  expect(since.map((s) => [s.metric.hpc_job, Number(s.value[1])])).toEqual([[HUNG_JOB, 31 * 60], [TRAINING_JOB, 0]]);
});

test('docs/dashboards/*.svg are drawn from these results (regenerate: npx tsx docs/tools/dashboard-previews.ts)', () => {
  const dir = path.join(__dirname, '..', '..', 'docs', 'dashboards');
  const previews = dashboardPreviews(results);
  expect(fs.readdirSync(dir).filter((f) => f.endsWith('.svg')).sort()).toEqual([...previews.keys()].sort());
  for (const [name, svg] of previews) expect({ name, same: fs.readFileSync(path.join(dir, name), 'utf8') === svg }).toEqual({ name, same: true });
});
