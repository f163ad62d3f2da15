import { alternating, host, job, merge, Scenario } from './scenarios';

/**
 * The scenarios of the job-aware straggler, hang and stall rules: synthetic 32-node jobs (one GPU and one EFA
 * device per node stand for eight and 32; the rules average per node) in the exporters' units. Each states what
 * it proves. scenarios.test.ts runs them with promtool; alert-rules.test.ts counts their firing/silent checks.
 */

const M = 90; // minutes of data per scenario
const CLUSTER = 'swallow-70b';
const STRAGGLER_ALERTS = ['StragglerHostBound', 'StragglerComputeBound', 'StragglerNetworkBound',
  'StragglerNetworkRetransmits', 'StragglerIntermittent'];

const labels = (_alert: string, i: number, jobId: string, kind: string, cluster = CLUSTER) =>
  ({ severity: 'warning', kind, cluster, hpc_job: jobId, Hostname: host(i) });
/** The annotations of a straggler alert for node i of jobId, `value` as the alert text prints it. */
const ANNOTATIONS: Record<string, (h: string, j: string, v: string) => Record<string, string>> = {
  StragglerHostBound: (h, j, v) => ({
    summary: `Host/input-bound straggler ${h} in job ${j}: GPU utilisation at ${v} of its peers`,
    description: `GPU utilisation on ${h} has stayed below 0.8 of the best quartile of the other nodes of Slurm job ${j} for 10m: its CPU, data loading or storage holds back every synchronous step.`,
  }),
  StragglerComputeBound: (h, j, v) => ({
    summary: `Compute-bound straggler ${h} in job ${j}: SM clocks at ${v} of its peers`,
    description: `The busy GPUs of ${h} have run at SM clocks below 0.9 of the best quartile of the other nodes of Slurm job ${j} for 10m; check its clock throttle reasons, temperatures and power.`,
  }),
  StragglerIntermittent: (h, j, v) => ({
    summary: `Intermittent straggler ${h} in job ${j}: slow ${v} of the last 1h`,
    description: `${h} was slower than the other nodes of Slurm job ${j} (GPU utilisation, SM clocks or EFA) ${v} of the last 1h, in bursts too short for the steady straggler alerts.`,
  }),
};
const alert = (name: string, i: number, jobId: string, kind: string, value: string, cluster = CLUSTER) => ({
  exp_labels: labels(name, i, jobId, kind, cluster),
  exp_annotations: { ...ANNOTATIONS[name](host(i), jobId, value), runbook_url: `docs/observability-alerts.md#${name.toLowerCase()}` },
});
const none = (alertname: string, at: string) => ({ eval_time: at, alertname, exp_alerts: [] });
const silentStragglers = (at: string, except = '') => STRAGGLER_ALERTS.filter((a) => a !== except).map((a) => none(a, at));

export const SCENARIOS: Scenario[] = [
  {
    // Host/input-bound: utilisation below the job's peers. Not before stragglerFor; only that node; no other kind.
    name: 'host-bound straggler: node 17 of 32 drops to 55% GPU utilisation at minute 20',
    minutes: M,
    nodes: job('1001', 1, 32, M, { 17: { job: '1001', util: [[97, 20], [55, 70]] } }),
    checks: [
      none('StragglerHostBound', '25m'),
      { eval_time: '40m', alertname: 'StragglerHostBound', exp_alerts: [{
        exp_labels: labels('StragglerHostBound', 17, '1001', 'host-bound'),
        exp_annotations: {
          summary: 'Host/input-bound straggler ip-10-1-0-17 in job 1001: GPU utilisation at 56.7% of its peers',
          description: 'GPU utilisation on ip-10-1-0-17 has stayed below 0.8 of the best quartile of the other nodes of Slurm job 1001 for 10m: its CPU, data loading or storage holds back every synchronous step.',
          runbook_url: 'docs/observability-alerts.md#stragglerhostbound',
        },
      }] },
      ...silentStragglers('40m', 'StragglerHostBound'),
    ],
  },
  {
    // Compute-bound: utilisation stays ~100% (everyone waits for it in NCCL), only the SM clocks tell.
    name: 'compute-bound straggler: node 9 throttled to 1410 MHz SM clock at 100% utilisation',
    minutes: M,
    nodes: job('1001', 1, 32, M, { 9: { job: '1001', util: [[100, M]], clockMHz: [[1980, 20], [1410, 70]] } }),
    checks: [
      { eval_time: '40m', alertname: 'StragglerComputeBound', exp_alerts: [{
        exp_labels: labels('StragglerComputeBound', 9, '1001', 'compute-bound'),
        exp_annotations: {
          summary: 'Compute-bound straggler ip-10-1-0-9 in job 1001: SM clocks at 71.21% of its peers',
          description: 'The busy GPUs of ip-10-1-0-9 have run at SM clocks below 0.9 of the best quartile of the other nodes of Slurm job 1001 for 10m; check its clock throttle reasons, temperatures and power.',
          runbook_url: 'docs/observability-alerts.md#stragglercomputebound',
        },
      }] },
      ...silentStragglers('40m', 'StragglerComputeBound'),
    ],
  },
  {
    name: 'network-bound straggler: node 5 moves half the EFA bytes of its peers',
    minutes: M,
    nodes: job('1001', 1, 32, M, { 5: { job: '1001', util: [[97, M]], efaBytesPerSecond: [[20e9, 20], [10e9, 70]] } }),
    checks: [
      { eval_time: '40m', alertname: 'StragglerNetworkBound', exp_alerts: [{
        exp_labels: labels('StragglerNetworkBound', 5, '1001', 'network-bound'),
        exp_annotations: {
          summary: 'Network-bound straggler ip-10-1-0-5 in job 1001: EFA traffic at 50% of its peers',
          description: 'ip-10-1-0-5 has moved less than 0.8 of the EFA bytes per second of the best quartile of the other nodes of Slurm job 1001 for 10m.',
          runbook_url: 'docs/observability-alerts.md#stragglernetworkbound',
        },
      }] },
      ...silentStragglers('40m', 'StragglerNetworkBound'),
    ],
  },
  {
    name: 'network-bound straggler: node 6 retransmits 500 SRD packets/s while its peers retransmit 2',
    minutes: M,
    nodes: job('1001', 1, 32, M, { 6: { job: '1001', util: [[97, M]], retransmitsPerSecond: [[2, 20], [500, 70]] } }),
    checks: [
      { eval_time: '40m', alertname: 'StragglerNetworkRetransmits', exp_alerts: [{
        exp_labels: labels('StragglerNetworkRetransmits', 6, '1001', 'network-bound'),
        exp_annotations: {
          summary: 'Network-bound straggler ip-10-1-0-6 in job 1001: EFA retransmits 50x its peers',
          description: 'ip-10-1-0-6 has retransmitted more than 4 times the SRD packets per second of the median node of Slurm job 1001 for 10m.',
          runbook_url: 'docs/observability-alerts.md#stragglernetworkretransmits',
        },
      }] },
      ...silentStragglers('40m', 'StragglerNetworkRetransmits'),
    ],
  },
  {
    // Slow 5 minutes of every 10: no steady alert can fire (its `for` restarts), the hourly share does.
    name: 'intermittent straggler: node 11 throttled 5 minutes of every 10 from minute 20',
    minutes: M,
    nodes: job('1001', 1, 32, M, { 11: { job: '1001', util: [[100, M]], clockMHz: alternating(1980, 1410, 20, 5, 5, M) } }),
    checks: [
      none('StragglerIntermittent', '25m'),
      { eval_time: '85m', alertname: 'StragglerIntermittent', exp_alerts: [alert('StragglerIntermittent', 11, '1001', 'intermittent', '50.82%')] },
      ...silentStragglers('85m', 'StragglerIntermittent'),
    ],
  },
  {
    // 17 of 32 slow: the median itself is slow; the best quartile is not, so all 17 are caught.
    name: 'majority-degraded job: 17 of 32 nodes throttled to 1410 MHz',
    minutes: M,
    nodes: job('1001', 1, 32, M, Object.fromEntries(Array.from({ length: 17 }, (_, k) =>
      [k + 1, { job: '1001', util: [[100, M]], clockMHz: [[1980, 20], [1410, 70]] }]))),
    checks: [
      { eval_time: '40m', alertname: 'StragglerComputeBound', exp_alerts: Array.from({ length: 17 }, (_, k) =>
        alert('StragglerComputeBound', k + 1, '1001', 'compute-bound', '71.21%')) },
      none('StragglerHostBound', '40m'),
    ],
  },
  {
    // A 4-node job beside the training job runs at 90%: each straggler is judged against its own job's peers.
    name: 'two concurrent jobs: 28-node training at 97% and a 4-node job at 90%, one straggler in each',
    minutes: M,
    nodes: merge(
      job('1001', 1, 28, M, { 3: { job: '1001', util: [[97, 20], [50, 70]] } }),
      job('1002', 29, 4, M, { 29: { job: '1002', util: [[90, M]] }, 30: { job: '1002', util: [[90, M]] },
        31: { job: '1002', util: [[90, M]] }, 32: { job: '1002', util: [[90, 20], [45, 70]] } }),
    ),
    checks: [
      { eval_time: '40m', alertname: 'StragglerHostBound', exp_alerts: [
        alert('StragglerHostBound', 3, '1001', 'host-bound', '51.55%'),
        alert('StragglerHostBound', 32, '1002', 'host-bound', '50%'),
      ] },
    ],
  },
  {
    // The eval job is below gpuBusyPercent, so it is not judged; the evaluation nodes never alarm as stragglers
    // of the training job, which they would against the cluster's median.
    name: 'two concurrent jobs: a healthy 4-node evaluation job at 60% is no straggler of the training job',
    minutes: M,
    nodes: merge(job('1001', 1, 28, M), job('1002', 29, 4, M, Object.fromEntries([29, 30, 31, 32].map((i) =>
      [i, { job: '1002', util: [[60, M]] }])))),
    checks: silentStragglers('40m'),
  },
  {
    // One workspace, two clusters with the same host names and the same Slurm job ID (each slurmctld numbers its
    // own jobs). The evaluation cluster's power-capped GPUs run at 1500 MHz and 85 %: against the training cluster
    // they would all be compute-bound stragglers, and the training nodes would hide node 3's slowdown. Judged by
    // cluster as well as job, only node 3 of the evaluation cluster is a straggler.
    name: 'two clusters in one workspace: the same job ID and host names, each node judged within its own cluster',
    minutes: M,
    nodes: merge(
      job('1001', 1, 16, M, Object.fromEntries(Array.from({ length: 16 }, (_, k) => [k + 1, { job: '1001', util: [[99, M]] }]))),
      new Map([...job('1001', 101, 16, M)].map(([key, n]) => [key, {
        ...n, cluster: 'eval-8b', hostIndex: key - 100, util: key === 103 ? [[85, 20], [50, 70]] : [[85, M]], clockMHz: [[1500, M]],
      }])),
    ),
    checks: [
      { eval_time: '40m', alertname: 'StragglerHostBound', exp_alerts: [alert('StragglerHostBound', 3, '1001', 'host-bound', '58.82%', 'eval-8b')] },
      none('StragglerComputeBound', '40m'),
      none('StragglerNetworkBound', '40m'),
      none('StragglerIntermittent', '85m'),
    ],
  },
  {
    // Nodes outside any job (no hpc_job) are idle and are neither flagged nor counted.
    name: 'job on a subset: 16 of 32 nodes in the job with a straggler, 16 idle outside any job',
    minutes: M,
    nodes: merge(
      job('1001', 1, 16, M, { 7: { job: '1001', util: [[97, 20], [60, 70]] } }),
      new Map(Array.from({ length: 16 }, (_, k) => [k + 17, { util: [[0, M]], clockMHz: [[345, M]], tensor: [[0, M]],
        efaBytesPerSecond: [[0, M]], retransmitsPerSecond: [[0, M]] }])),
    ),
    checks: [
      { eval_time: '40m', alertname: 'StragglerHostBound', exp_alerts: [alert('StragglerHostBound', 7, '1001', 'host-bound', '61.86%')] },
      none('StragglerComputeBound', '40m'),
      none('StragglerNetworkBound', '40m'),
      none('TrainingStalled', '40m'),
    ],
  },
  {
    // Nodes reach full speed at different times in the first minutes; node 3 takes 14 minutes to load.
    name: 'warm-up: node 3 loads for 14 minutes at 30% while the others already train',
    minutes: M,
    nodes: job('1001', 1, 32, M, { 3: { job: '1001', util: [[30, 14], [97, 76]], clockMHz: [[900, 14], [1980, 76]],
      efaBytesPerSecond: [[1e9, 14], [20e9, 76]] } }),
    checks: [...silentStragglers('14m'), ...silentStragglers('20m'), ...silentStragglers('30m')],
  },
  {
    // NCCL hang: kernels spin at 100% while tensor work and EFA traffic stop.
    name: 'hang: from minute 30 every GPU spins at 100% with no tensor activity and no EFA traffic',
    minutes: M,
    nodes: job('1001', 1, 32, M, Object.fromEntries(Array.from({ length: 32 }, (_, k) => [k + 1, {
      job: '1001', util: [[97, 30], [100, 60]], tensor: [[0.45, 30], [0, 60]], efaBytesPerSecond: [[20e9, 30], [0, 60]],
    }]))),
    checks: [
      none('TrainingHang', '33m'),
      { eval_time: '40m', alertname: 'TrainingHang', exp_alerts: [{
        exp_labels: { severity: 'critical', cluster: CLUSTER, hpc_job: '1001' },
        exp_annotations: {
          summary: 'Job 1001 hangs: GPUs spinning with no tensor work and no EFA traffic',
          description: 'The GPUs of Slurm job 1001 have been 100% busy for 5m while tensor activity stayed below 0.01 and EFA traffic below 1000000 bytes/s on every node: a collective is stuck.',
          runbook_url: 'docs/observability-alerts.md#traininghang',
        },
      }] },
      none('TrainingStalled', '60m'),
    ],
  },
  {
    // The job ends at minute 30: the epilog unmaps the GPUs, their hpc_job series end, idle series appear.
    name: 'normal job end: the job releases its GPUs at minute 30 and they go idle',
    minutes: M,
    nodes: job('1001', 1, 32, M, Object.fromEntries(Array.from({ length: 32 }, (_, k) =>
      [k + 1, { job: '1001', util: [[97, M]], jobEndsAt: 30 }]))),
    checks: [none('TrainingStalled', '45m'), none('TrainingStalled', '80m'), none('TrainingHang', '45m'),
      ...silentStragglers('45m')],
  },
  {
    // A steady straggler until its job ends at minute 40: once the job's series are gone nothing about it fires,
    // although the intermittent alert's hourly window still holds its slow samples.
    name: 'a straggler\'s job ends at minute 40: silent afterwards',
    minutes: M,
    nodes: job('1001', 1, 32, M, Object.fromEntries(Array.from({ length: 32 }, (_, k) =>
      [k + 1, { job: '1001', util: [[k + 1 === 7 ? 60 : 97, M]], jobEndsAt: 40 }]))),
    checks: [...silentStragglers('50m'), ...silentStragglers('70m')],
  },
  {
    // The job still holds its GPUs but they all went idle (a crashed rank the others wait on without spinning).
    name: 'stall: the job keeps its GPUs but they are idle from minute 30',
    minutes: M,
    nodes: job('1001', 1, 32, M, Object.fromEntries(Array.from({ length: 32 }, (_, k) =>
      [k + 1, { job: '1001', util: [[97, 30], [0, 60]], tensor: [[0.45, 30], [0, 60]], efaBytesPerSecond: [[20e9, 30], [0, 60]] }]))),
    checks: [
      none('TrainingStalled', '38m'),
      { eval_time: '45m', alertname: 'TrainingStalled', exp_alerts: [{
        exp_labels: { severity: 'critical', cluster: CLUSTER, hpc_job: '1001' },
        exp_annotations: {
          summary: 'Job 1001 stalled: it holds its GPUs but none works',
          description: 'No GPU of Slurm job 1001 has averaged more than 10% utilisation for 10m, although the job was busy within the last 2h and is still running.',
          runbook_url: 'docs/observability-alerts.md#trainingstalled',
        },
      }] },
      none('TrainingHang', '45m'),
      ...silentStragglers('45m'),
    ],
  },
  {
    // Every node throttled alike: no node differs from its peers, only the plan tells.
    name: 'job-wide slowdown: all 32 nodes slow together, Megatron measures 300 TFLOP/s/GPU against a plan of 400',
    minutes: M,
    nodes: job('1001', 1, 32, M, Object.fromEntries(Array.from({ length: 32 }, (_, k) =>
      [k + 1, { job: '1001', util: [[100, M]], clockMHz: [[1400, M]] }]))),
    extraSeries: [
      { series: `megatron_throughput_tflops_per_gpu{Hostname="${host(1)}", cluster="${CLUSTER}", hpc_job="1001"}`, values: '390x19 300x70' },
      { series: `megatron_plan_tflops_per_gpu{Hostname="${host(1)}", cluster="${CLUSTER}", hpc_job="1001"}`, values: '400x89' },
    ],
    checks: [
      none('JobThroughputBelowPlan', '15m'),
      none('JobThroughputBelowPlan', '35m'),
      { eval_time: '45m', alertname: 'JobThroughputBelowPlan', exp_alerts: [{
        exp_labels: { severity: 'warning', kind: 'job-wide', cluster: CLUSTER, hpc_job: '1001' },
        exp_annotations: {
          summary: 'Job 1001 runs at 75% of its planned throughput',
          description: 'Slurm job 1001 has measured less than 0.85 of the throughput its plan predicts for 20m: every node may be slow together (a majority of stragglers, a slow file system, the wrong layout).',
          runbook_url: 'docs/observability-alerts.md#jobthroughputbelowplan',
        },
      }] },
      ...silentStragglers('45m'),
    ],
  },
];

