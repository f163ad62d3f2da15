import { host } from './scenarios';

/**
 * A hundred minutes of a synthetic HyperPod cluster as OpenMetrics text for `promtool tsdb create-blocks-from openmetrics`:
 * every series the dashboards query, labelled as the node collector, the DCGM exporter (with hpc_job), the EFA
 * textfile, node_exporter, slurm-metrics and megatron-metrics write them, in the exporters' units, one sample every two minutes.
 *
 * - Job 1001 on nodes 1-32 (256 H100), 10 minutes of warm-up, then from minute 20: node 17 host/input-bound (GPUs
 *   at 55 %, CPU saturated), node 9 throttled (SM clock 1410 MHz, thermal throttling 40 % of the time, 88 °C), node 11
 *   throttled 6 minutes of every 12 (intermittent), node 5 at half the EFA traffic, node 6 retransmitting 500 SRD
 *   packets/s. The straggler costs the job: 330 TFLOP/s per GPU against a plan of 400.
 * - Job 1002 on nodes 33-36 hangs at minute 70: GPUs spin at 100 % with no tensor work and no EFA traffic, and its
 *   log stops advancing.
 * - Node 37, in no job: drained in Slurm, one GPU gone (7 of 8 report), XID 48 and double-bit ECC errors on GPU 3,
 *   its EFA textfile stale since minute 50, its job-notifications lifecycle step failed.
 * - The login node's node_exporter goes down at minute 80; the controller runs slurm-metrics.
 * Every node of a job reports the same healthy values unless named above, so whatever stands out is what was put in.
 */

export const CLUSTER = 'swallow-70b';
/** 2026-01-01T00:00:00Z, on a two-hour TSDB block boundary. */
export const START_SECONDS = 1_767_225_600;
export const MINUTES = 100;
/** Minutes between samples: a scrape every two minutes keeps the backfill small. */
export const STEP_MINUTES = 2;
export const END_SECONDS = START_SECONDS + MINUTES * 60;

export const TRAINING_JOB = '1001';
export const HUNG_JOB = '1002';
export const NODES = {
  hostBound: host(17), throttled: host(9), intermittent: host(11), networkBound: host(5), retransmitting: host(6),
  drained: host(37), login: 'ip-10-1-0-240', controller: 'ip-10-1-0-250',
  hung: [33, 34, 35, 36].map(host),
};

const GPUS_PER_NODE = 8;
const EFA_DEVICES_PER_NODE = 32;
const TEXTFILE_DIR = '/var/lib/node_exporter/textfile';
const HANG_FROM = 70;
const DEGRADED_FROM = 20;
const WARMUP_MINUTES = 10;

type Labels = Record<string, string>;
/** A value per minute 0..MINUTES; undefined = no sample that minute. */
type Values = (m: number) => number | undefined;

interface Node {
  readonly index: number;
  readonly job?: string;
  readonly gpus: number;
}

const NODE_LIST: Node[] = [
  ...Array.from({ length: 32 }, (_, k) => ({ index: k + 1, job: TRAINING_JOB, gpus: GPUS_PER_NODE })),
  ...[33, 34, 35, 36].map((index) => ({ index, job: HUNG_JOB, gpus: GPUS_PER_NODE })),
  { index: 37, gpus: GPUS_PER_NODE - 1 },
];

class OpenMetricsWriter {
  private readonly families = new Map<string, string[]>();

  series(name: string, labels: Labels, values: Values): void {
    const text = Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(',');
    const lines = this.families.get(name) ?? [];
    for (let m = 0; m <= MINUTES; m += STEP_MINUTES) {
      const v = values(m);
      if (v !== undefined) lines.push(`${name}{${text}} ${v} ${START_SECONDS + m * 60}`);
    }
    this.families.set(name, lines);
  }

  /** A counter from its per-second rate each minute. */
  counter(name: string, labels: Labels, perSecond: (m: number) => number, from = 0): void {
    const totals: number[] = [from];
    for (let m = 1; m <= MINUTES; m++) totals.push(totals[m - 1] + perSecond(m) * 60);
    this.series(name, labels, (m) => totals[m]);
  }

  text(): string {
    return [...this.families.values()].map((lines) => lines.join('\n')).join('\n') + '\n# EOF\n';
  }
}

const degraded = (m: number) => m >= DEGRADED_FROM;
const hung = (node: Node, m: number) => node.job === HUNG_JOB && m >= HANG_FROM;
const warming = (node: Node, m: number) => node.job !== undefined && m < WARMUP_MINUTES;
const isHost = (node: Node, name: string) => host(node.index) === name;
/** Node 11 is slow the first 6 minutes of every 12 from minute 20. */
const intermittentSlow = (node: Node, m: number) =>
  isHost(node, NODES.intermittent) && degraded(m) && Math.floor((m - DEGRADED_FROM) / 6) % 2 === 0;

function gpuUtil(node: Node, m: number): number {
  if (!node.job) return 0;
  if (hung(node, m)) return 100;
  if (warming(node, m)) return 30;
  if (isHost(node, NODES.hostBound) && degraded(m)) return 55;
  if (isHost(node, NODES.throttled) && degraded(m)) return 100;
  return 97;
}

function smClockMHz(node: Node, m: number): number {
  if (!node.job) return 345;
  if (warming(node, m)) return 1200;
  if ((isHost(node, NODES.throttled) && degraded(m)) || intermittentSlow(node, m)) return 1410;
  return 1980;
}

function tensorActive(node: Node, m: number): number {
  if (!node.job || hung(node, m)) return 0;
  if (warming(node, m)) return 0.05;
  if (isHost(node, NODES.hostBound) && degraded(m)) return 0.25;
  return 0.45;
}

function smActive(node: Node, m: number): number {
  if (!node.job) return 0;
  if (hung(node, m)) return 0.1; // NCCL's spinning kernels hold a few SMs
  return Math.round(gpuUtil(node, m) * 0.85) / 100;
}

/** EFA bytes per second a node sends (and receives), all devices. */
function efaBytesPerSecond(node: Node, m: number): number {
  if (!node.job || hung(node, m)) return 0;
  if (warming(node, m)) return 1e9;
  if (isHost(node, NODES.networkBound) && degraded(m)) return 10e9;
  return 20e9;
}

function writeGpus(w: OpenMetricsWriter, node: Node): void {
  const h = host(node.index);
  for (let g = 0; g < node.gpus; g++) {
    const labels: Labels = {
      cluster: CLUSTER, Hostname: h, gpu: String(g), UUID: `GPU-${node.index}-${g}`,
      ...(node.job ? { hpc_job: node.job } : {}),
    };
    const throttled = (m: number) => isHost(node, NODES.throttled) && degraded(m);
    const gauges: Array<[string, Values]> = [
      ['DCGM_FI_DEV_GPU_UTIL', (m) => gpuUtil(node, m)],
      ['DCGM_FI_DEV_SM_CLOCK', (m) => smClockMHz(node, m)],
      ['DCGM_FI_PROF_PIPE_TENSOR_ACTIVE', (m) => tensorActive(node, m)],
      ['DCGM_FI_PROF_SM_ACTIVE', (m) => smActive(node, m)],
      ['DCGM_FI_DEV_FB_USED', () => (node.job ? 71_000 : 0)], // MiB of the H100's 81 559
      ['DCGM_FI_DEV_FB_FREE', () => (node.job ? 10_559 : 81_559)],
      ['DCGM_FI_DEV_GPU_TEMP', (m) => (throttled(m) ? 88 : node.job ? 64 : 31)],
      ['DCGM_FI_DEV_POWER_USAGE', (m) => (node.job && !warming(node, m) ? 640 : 72)],
      ['DCGM_FI_DEV_XID_ERRORS', () => (node.index === 37 && g === 3 ? 48 : 0)],
      ['DCGM_FI_DEV_ECC_DBE_VOL_TOTAL', () => (node.index === 37 && g === 3 ? 2 : 0)],
      ['DCGM_FI_DEV_ROW_REMAP_FAILURE', () => 0],
      // Profiling gauges in bytes per second.
      ['DCGM_FI_PROF_NVLINK_TX_BYTES', (m) => (node.job && !hung(node, m) ? 40e9 : 0)],
      ['DCGM_FI_PROF_NVLINK_RX_BYTES', (m) => (node.job && !hung(node, m) ? 40e9 : 0)],
    ];
    for (const [name, values] of gauges) w.series(name, labels, values);
    // Nanoseconds of throttling: node 9 for temperature 40 % of the time, every busy GPU at its power cap 10 %.
    w.counter('DCGM_FI_DEV_THERMAL_VIOLATION', labels, (m) => (throttled(m) ? 0.4e9 : 0), 4.2e11);
    w.counter('DCGM_FI_DEV_POWER_VIOLATION', labels, (m) => (node.job && !warming(node, m) ? 0.1e9 : 0), 1.3e12);
    w.counter('DCGM_FI_DEV_NVLINK_REPLAY_ERROR_COUNT_TOTAL', labels, (m) => (node.index === 21 && g === 2 && m >= 60 ? 0.05 : 0));
    w.counter('DCGM_FI_DEV_NVLINK_RECOVERY_ERROR_COUNT_TOTAL', labels, () => 0);
  }
}

function writeEfa(w: OpenMetricsWriter, node: Node): void {
  const h = host(node.index);
  // Node 37's efa-metrics timer died at minute 50: node_exporter keeps serving the last file.
  const at = (m: number) => (node.index === 37 ? Math.min(m, 50) : m);
  for (let d = 0; d < EFA_DEVICES_PER_NODE; d++) {
    const labels: Labels = { cluster: CLUSTER, Hostname: h, device: `rdmap${16 + d}s27`, port: '1' };
    const perDevice = (m: number) => efaBytesPerSecond(node, at(m)) / EFA_DEVICES_PER_NODE;
    w.counter('node_amazonefa_tx_bytes', labels, perDevice);
    w.counter('node_amazonefa_rx_bytes', labels, perDevice);
    const retransmits = isHost(node, NODES.retransmitting) ? 500 : 2;
    w.counter('node_amazonefa_retrans_pkts', labels,
      (m) => (efaBytesPerSecond(node, at(m)) > 0 ? (degraded(m) ? retransmits : 2) / EFA_DEVICES_PER_NODE : 0));
    if (d > 0) continue;
    // The rarer counters on the first device; node 21 fails an RDMA read a minute from minute 60.
    w.counter('node_amazonefa_retrans_timeout_events', labels, () => 0);
    w.counter('node_amazonefa_unresponsive_remote_events', labels, () => 0);
    w.counter('node_amazonefa_impaired_remote_conn_events', labels, () => 0);
    w.counter('node_amazonefa_rdma_read_wr_err', labels, (m) => (node.index === 21 && m >= 60 ? 1 / 60 : 0));
    w.counter('node_amazonefa_rdma_write_wr_err', labels, () => 0);
    w.counter('node_amazonefa_rx_drops', labels, () => 0);
  }
}

/** node_exporter on any node; `until` = the minute its series stop (the exporter died). */
function writeNodeExporter(w: OpenMetricsWriter, h: string, cpuBusy: (m: number) => number, textfiles: Record<string, Values>, until = MINUTES + 1): void {
  const node: Labels = { cluster: CLUSTER, Hostname: h };
  const upTo = (values: Values): Values => (m) => (m < until ? values(m) : undefined);
  // Counters since boot, a day before the range starts.
  const cpu = (mode: string, share: (m: number) => number) => {
    const totals: number[] = [86_400 * share(0)];
    for (let m = 1; m <= MINUTES; m++) totals.push(totals[m - 1] + share(m) * 60);
    w.series('node_cpu_seconds_total', { ...node, cpu: '0', mode }, upTo((m) => totals[m]));
  };
  cpu('idle', (m) => 1 - cpuBusy(m));
  cpu('user', cpuBusy);
  w.series('node_load1', node, upTo((m) => Math.round(cpuBusy(m) * 192 * 10) / 10));
  w.series('node_memory_MemTotal_bytes', node, upTo(() => 2_199_023_255_552));
  w.series('node_memory_MemAvailable_bytes', node, upTo(() => 1_319_413_953_331));
  const nvmeUsed = h === host(3) ? 0.93 : 0.4;
  for (const [mountpoint, size, used] of [['/', 512e9, 0.35], ['/opt/dlami/nvme', 30.4e12, nvmeUsed], ['/opt/sagemaker', 500e9, 0.2]] as const) {
    const fs = { ...node, mountpoint, device: mountpoint === '/' ? '/dev/nvme0n1p1' : '/dev/md0', fstype: 'ext4' };
    w.series('node_filesystem_size_bytes', fs, upTo(() => size));
    w.series('node_filesystem_avail_bytes', fs, upTo(() => Math.round(size * (1 - used))));
  }
  const rate = (name: string, labels: Labels, perSecond: number) => {
    w.series(name, labels, upTo((m) => (1440 + m) * 60 * perSecond));
  };
  rate('node_disk_read_bytes_total', { ...node, device: 'nvme1n1' }, 200e6);
  rate('node_disk_written_bytes_total', { ...node, device: 'nvme1n1' }, 50e6);
  const ens = { ...node, device: 'ens32' };
  rate('node_network_receive_bytes_total', ens, 50e6);
  rate('node_network_transmit_bytes_total', ens, 20e6);
  for (const n of ['node_network_receive_errs_total', 'node_network_transmit_errs_total', 'node_network_receive_drop_total', 'node_network_transmit_drop_total']) {
    rate(n, ens, 0);
  }
  w.series('node_uname_info', { ...node, nodename: h, release: '6.8.0-1021-aws' }, upTo(() => 1));
  for (const [file, mtime] of Object.entries(textfiles)) {
    w.series('node_textfile_mtime_seconds', { ...node, file: `${TEXTFILE_DIR}/${file}` }, upTo(mtime));
  }
  w.series('node_textfile_scrape_error', node, upTo(() => 0));
  w.series('up', { ...node, job: 'node', instance: 'localhost:9100' }, (m) => (m < until ? 1 : 0));
}

/** The minute's timestamp: a file its timer rewrites every minute. */
const now = (m: number) => START_SECONDS + m * 60;
const atBoot = () => START_SECONDS - 86_400;

function writeComputeNode(w: OpenMetricsWriter, node: Node): void {
  const h = host(node.index);
  const busy = (m: number) => (isHost(node, NODES.hostBound) && degraded(m) ? 0.95 : node.job ? 0.35 : 0.02);
  const textfiles: Record<string, Values> = {
    'efa.prom': node.index === 37 ? (m) => now(Math.min(m, 50)) : now,
    'hyperpod_node.prom': atBoot,
    'hyperpod_lifecycle.prom': atBoot,
  };
  if (node.index === 1) textfiles[`megatron-${TRAINING_JOB}.prom`] = now;
  if (node.index === 33) textfiles[`megatron-${HUNG_JOB}.prom`] = now;
  writeNodeExporter(w, h, busy, textfiles);
  const labels = { cluster: CLUSTER, Hostname: h };
  w.series('up', { ...labels, job: 'dcgm', instance: 'localhost:9400' }, () => 1);
  w.series('hyperpod_node_expected_gpus', labels, () => GPUS_PER_NODE);
  w.series('hyperpod_node_expected_efa_devices', labels, () => EFA_DEVICES_PER_NODE);
  for (const step of ['50-preload-tool', '60-experiment-tracking', '70-observability', '80-job-notifications']) {
    w.series('hyperpod_lifecycle_step_failed', { ...labels, step }, () => (node.index === 37 && step === '80-job-notifications' ? 1 : 0));
  }
  writeGpus(w, node);
  writeEfa(w, node);
}

function writeController(w: OpenMetricsWriter): void {
  writeNodeExporter(w, NODES.controller, () => 0.1, { 'slurm.prom': now, 'hyperpod_node.prom': atBoot, 'hyperpod_lifecycle.prom': atBoot });
  const labels = { cluster: CLUSTER, Hostname: NODES.controller };
  w.series('slurm_controller_up', labels, () => 1);
  // slurm-metrics labels each state series with the Slurm node's name (= its host name), not the controller's.
  for (const node of NODE_LIST) {
    const state = node.job ? 'allocated' : 'drained';
    w.series('slurm_node_state', { cluster: CLUSTER, Hostname: host(node.index), state }, () => 1);
  }
}

interface JobPlan {
  readonly job: string;
  readonly batchHost: string;
  readonly gpus: number;
  /** Measured TFLOP/s per GPU at minute m (undefined before the first iteration line). */
  readonly tflops: (m: number) => number | undefined;
  readonly stalledFrom?: number;
  readonly slowestRank: (m: number) => [string, number];
}

// The plan of the reference run (planner): 400 TFLOP/s per GPU, 880 tokens/s per GPU, 37.2 s per iteration of
// 1024 sequences of 8192 tokens on 256 GPUs, a checkpoint every 30 minutes.
const PLAN = { tflops: 400, tokensPerSecond: 880, iterationSeconds: 37.2, saveIntervalSeconds: 1800, trainIterations: 37_500 };

function writeMegatron(w: OpenMetricsWriter, plan: JobPlan): void {
  const labels = { cluster: CLUSTER, Hostname: plan.batchHost, hpc_job: plan.job };
  const logging = (m: number) => m >= WARMUP_MINUTES && (plan.stalledFrom === undefined || m < plan.stalledFrom);
  const lastLogged = (m: number) => (plan.stalledFrom !== undefined ? Math.min(m, plan.stalledFrom - 1) : m);
  const tflops = (m: number) => (m < WARMUP_MINUTES ? undefined : plan.tflops(lastLogged(m)));
  // Iteration time and tokens follow the measured TFLOP/s (same model, same batch).
  const iterationSeconds = (m: number) => { const t = tflops(m); return t === undefined ? undefined : Math.round(PLAN.iterationSeconds * PLAN.tflops / t * 10) / 10; };
  const iterations: number[] = [];
  for (let m = 0, total = 0; m <= MINUTES; m++) {
    if (logging(m) && m > WARMUP_MINUTES) total += 60 / iterationSeconds(m)!;
    iterations.push(Math.floor(total));
  }
  const checkpoints = [30, 60, 90].filter((c) => plan.stalledFrom === undefined || c < plan.stalledFrom);
  const lastCheckpoint = (m: number) => checkpoints.filter((c) => c <= m).pop();
  const fromFirstIteration = (values: Values): Values => (m) => (m < WARMUP_MINUTES ? undefined : values(m));
  const gauges: Array<[string, Values]> = [
    ['megatron_start_timestamp_seconds', () => START_SECONDS],
    ['megatron_plan_tflops_per_gpu', () => PLAN.tflops],
    ['megatron_plan_tokens_per_second_per_gpu', () => PLAN.tokensPerSecond],
    ['megatron_plan_iteration_seconds', () => PLAN.iterationSeconds],
    ['megatron_plan_save_interval_seconds', () => PLAN.saveIntervalSeconds],
    ['megatron_plan_gpus', () => plan.gpus],
    ['megatron_train_iterations', () => PLAN.trainIterations],
    ['megatron_iteration', fromFirstIteration((m) => iterations[m])],
    ['megatron_iteration_time_seconds', iterationSeconds],
    ['megatron_throughput_tflops_per_gpu', tflops],
    ['megatron_throughput_tokens_per_second_per_gpu', fromFirstIteration((m) => Math.round(PLAN.tokensPerSecond * tflops(m)! / PLAN.tflops))],
    ['megatron_learning_rate', fromFirstIteration(() => 1.5e-4)],
    ['megatron_loss_scale', fromFirstIteration(() => 1)],
    ['megatron_grad_norm', fromFirstIteration((m) => Math.round((0.9 + 0.08 * Math.sin(lastLogged(m) / 7)) * 1000) / 1000)],
    ['megatron_progress_timestamp_seconds', fromFirstIteration((m) => START_SECONDS + lastLogged(m) * 60)],
    ['megatron_last_checkpoint_timestamp_seconds', (m) => { const c = lastCheckpoint(m); return c === undefined ? undefined : START_SECONDS + c * 60; }],
    ['megatron_last_checkpoint_iteration', (m) => { const c = lastCheckpoint(m); return c === undefined ? undefined : iterations[c]; }],
  ];
  for (const [name, values] of gauges) w.series(name, labels, values);
  w.series('megatron_loss', { ...labels, loss: 'lm loss' },
    fromFirstIteration((m) => Math.round((2.1 + 0.35 * Math.exp(-lastLogged(m) / 45)) * 1000) / 1000));
  // Two iterations skipped for a loss-scale overflow at minute 50; no NaN.
  w.series('megatron_skipped_iterations_total', labels, fromFirstIteration((m) => (m >= 50 ? 2 : 0)));
  w.series('megatron_nan_iterations_total', labels, fromFirstIteration(() => 0));
  // --log-straggler: the slowest and the fastest rank, each a series labelled with its rank.
  const rankSeries = new Map<string, Values>();
  for (let m = WARMUP_MINUTES; m <= MINUTES; m++) {
    const [rank] = plan.slowestRank(lastLogged(m));
    if (!rankSeries.has(rank)) rankSeries.set(rank, (t) => (t >= WARMUP_MINUTES && plan.slowestRank(lastLogged(t))[0] === rank ? plan.slowestRank(lastLogged(t))[1] : undefined));
  }
  for (const [rank, values] of rankSeries) w.series('megatron_straggler_rank_tflops', { ...labels, rank, stat: 'min' }, values);
  w.series('megatron_straggler_rank_tflops', { ...labels, rank: '3', stat: 'max' }, fromFirstIteration(() => 405));
}

/** The OpenMetrics text of the whole cluster. */
export function syntheticCluster(): string {
  const w = new OpenMetricsWriter();
  for (const node of NODE_LIST) writeComputeNode(w, node);
  writeController(w);
  writeNodeExporter(w, NODES.login, () => 0.05, { 'hyperpod_node.prom': atBoot }, 80);
  writeMegatron(w, {
    job: TRAINING_JOB, batchHost: host(1), gpus: 256,
    tflops: (m) => (degraded(m) ? 330 : 390),
    // Ranks 128-135 run on node 17 (block distribution, eight per node).
    slowestRank: (m) => (degraded(m) ? ['130', 298] : ['77', 396]),
  });
  writeMegatron(w, {
    job: HUNG_JOB, batchHost: host(33), gpus: 32, tflops: () => 392, stalledFrom: HANG_FROM,
    slowestRank: () => ['12', 398],
  });
  return w.text();
}
