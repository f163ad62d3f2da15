import { parseRuleGroups } from './rule-file';

/**
 * Synthetic training jobs as promtool unit tests: a cluster of nodes, each in a Slurm job (or none), with its
 * per-minute GPU utilisation, SM clock, tensor activity and EFA traffic in the exporters' real units
 * (%, MHz, ratio of cycles, bytes and packets as counters). scenarios.test.ts runs them against the rendered rules.
 */

/** One value per minute, written as segments: [value, minutes]. */
export type Segments = Array<[number, number]>;

export interface NodeSignals {
  /** Slurm job ID the node's GPUs are mapped to; undefined = outside any job (no hpc_job label). */
  readonly job?: string;
  readonly util: Segments;
  readonly clockMHz?: Segments;
  readonly tensor?: Segments;
  /** Bytes per second sent and received each (EFA counters grow by 60 × this per minute). */
  readonly efaBytesPerSecond?: Segments;
  readonly retransmitsPerSecond?: Segments;
  /** Minute from which the node's job-labelled GPU series stop (the job ended); they become stale. */
  readonly jobEndsAt?: number;
  /** The HyperPod cluster (`cluster` label). @default 'swallow-70b' */
  readonly cluster?: string;
  /** The host name's index, when it is not the node's key (two clusters may hold the same host names). */
  readonly hostIndex?: number;
}

export const HEALTHY = { util: 97, clockMHz: 1980, tensor: 0.45, efaBytesPerSecond: 20e9, retransmitsPerSecond: 2 };

export function host(i: number): string {
  return `ip-10-1-0-${i}`;
}

/** Every minute's value, expanded from segments, for `minutes` samples (the last segment is held). */
export function expand(segments: Segments, minutes: number): number[] {
  const out: number[] = [];
  for (const [value, count] of segments) for (let k = 0; k < count && out.length < minutes; k++) out.push(value);
  while (out.length < minutes) out.push(segments[segments.length - 1][0]);
  return out;
}

/** A counter's cumulative values from a per-second rate per minute. */
function counter(rates: number[]): number[] {
  let total = 0;
  return rates.map((r, i) => (i === 0 ? 0 : (total += r * 60)));
}

function valuesText(values: Array<number | 'stale'>): string {
  return values.map((v) => (v === 'stale' ? 'stale' : String(v))).join(' ');
}

export interface InputSeries { series: string; values: string }

/** The input series of one node: DCGM gauges on one GPU with hpc_job, EFA counters on one device. */
export function nodeSeries(index: number, signals: NodeSignals, minutes: number, cluster = 'swallow-70b'): InputSeries[] {
  const h = host(index);
  const job = signals.job ? `, hpc_job="${signals.job}"` : '';
  const gpu = `Hostname="${h}", cluster="${cluster}", gpu="0", UUID="GPU-${index}-0"${job}`;
  const end = signals.jobEndsAt;
  const dcgm = (values: number[]) => valuesText(values.map((v, m) => (end !== undefined && m >= end ? 'stale' : v)));
  const series: InputSeries[] = [
    { series: `DCGM_FI_DEV_GPU_UTIL{${gpu}}`, values: dcgm(expand(signals.util, minutes)) },
    { series: `DCGM_FI_DEV_SM_CLOCK{${gpu}}`, values: dcgm(expand(signals.clockMHz ?? [[HEALTHY.clockMHz, minutes]], minutes)) },
    { series: `DCGM_FI_PROF_PIPE_TENSOR_ACTIVE{${gpu}}`, values: dcgm(expand(signals.tensor ?? [[HEALTHY.tensor, minutes]], minutes)) },
  ];
  if (end !== undefined) {
    // After the job the same GPU reports without hpc_job, idle.
    const after = Array.from({ length: minutes }, (_, m) => (m < end ? 'stale' as const : 0));
    series.push({ series: `DCGM_FI_DEV_GPU_UTIL{Hostname="${h}", cluster="${cluster}", gpu="0", UUID="GPU-${index}-0"}`, values: valuesText(after) });
  }
  const efa = `Hostname="${h}", cluster="${cluster}", device="rdmap16s27", port="1"`;
  const bytes = expand(signals.efaBytesPerSecond ?? [[HEALTHY.efaBytesPerSecond, minutes]], minutes);
  series.push(
    { series: `node_amazonefa_tx_bytes{${efa}}`, values: valuesText(counter(bytes)) },
    { series: `node_amazonefa_rx_bytes{${efa}}`, values: valuesText(counter(bytes)) },
    { series: `node_amazonefa_retrans_pkts{${efa}}`,
      values: valuesText(counter(expand(signals.retransmitsPerSecond ?? [[HEALTHY.retransmitsPerSecond, minutes]], minutes))) },
  );
  return series;
}

export interface ExpectedAlert { exp_labels: Record<string, string>; exp_annotations?: Record<string, string> }
export interface AlertCheck { eval_time: string; alertname: string; exp_alerts: ExpectedAlert[] }

export interface Scenario {
  readonly name: string;
  /** Node index (1-based) to signals. */
  readonly nodes: Map<number, NodeSignals>;
  readonly minutes: number;
  readonly checks: AlertCheck[];
  readonly extraSeries?: InputSeries[];
}

/** `count` nodes 1..count in `job` with healthy signals, overridden per node by `overrides`. */
export function job(id: string, first: number, count: number, minutes: number,
  overrides: Record<number, Partial<NodeSignals>> = {}): Map<number, NodeSignals> {
  const nodes = new Map<number, NodeSignals>();
  for (let i = first; i < first + count; i++) {
    nodes.set(i, { job: id, util: [[HEALTHY.util, minutes]], ...overrides[i] });
  }
  return nodes;
}

export function merge(...maps: Array<Map<number, NodeSignals>>): Map<number, NodeSignals> {
  return new Map(maps.flatMap((m) => [...m]));
}

/**
 * The rule groups of a rendered rules file, in file order. promtool evaluates groups in random order unless the
 * test names them in `group_eval_order` ("The order is guaranteed only for the groups mentioned", Prometheus,
 * "Unit testing for rules"). No group reads a series recorded by another (rule-order.test.ts, after AMP's "Rule
 * order"), so the order changes no result; every suite lists all groups in file order all the same, so that a run
 * is the same run each time.
 */
export function ruleGroupOrder(rules: string): string[] {
  return parseRuleGroups(rules).map((g) => g.name);
}

/** A promtool test-rules file (JSON is YAML) running every scenario against `rules` (training-alerts.yaml). */
export function promtoolSuite(scenarios: Scenario[], rules: string): string {
  return JSON.stringify({
    rule_files: ['training-alerts.yaml'],
    evaluation_interval: '1m',
    group_eval_order: ruleGroupOrder(rules),
    tests: scenarios.map((s) => ({
      name: s.name,
      interval: '1m',
      input_series: [...[...s.nodes].flatMap(([i, n]) => nodeSeries(n.hostIndex ?? i, n, s.minutes, n.cluster)), ...(s.extraSeries ?? [])],
      alert_rule_test: s.checks,
    })),
  }, null, 1);
}

/** `every` minutes alternating: slow for `on` minutes, then healthy, from minute `from`. */
export function alternating(healthy: number, slow: number, from: number, on: number, off: number, minutes: number): Segments {
  const segments: Segments = [[healthy, from]];
  for (let m = from; m < minutes; m += on + off) segments.push([slow, on], [healthy, off]);
  return segments;
}
