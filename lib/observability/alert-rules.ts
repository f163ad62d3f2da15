import * as fs from 'fs';
import * as path from 'path';
import { Duration, Token } from 'aws-cdk-lib';

/**
 * Thresholds and durations of the training alert rules (`rules/training-alerts.yaml`).
 *
 * Every field is optional; a missing one takes its default. Durations must be whole seconds.
 * What each alert means and how to answer it: docs/observability-alerts.md.
 */
export interface AlertThresholds {
  /**
   * GpuTemperatureHigh (warning) fires above this GPU temperature, °C. From 30 to 120.
   * @default 80
   */
  readonly gpuTemperatureWarningCelsius?: number;
  /**
   * How long a GPU must stay above the warning temperature.
   * @default Duration.minutes(5)
   */
  readonly gpuTemperatureWarningFor?: Duration;
  /**
   * GpuTemperatureCritical fires above this GPU temperature, °C. From 30 to 120, above the warning.
   * @default 85
   */
  readonly gpuTemperatureCriticalCelsius?: number;
  /**
   * How long a GPU must stay above the critical temperature.
   * @default Duration.minutes(1)
   */
  readonly gpuTemperatureCriticalFor?: Duration;
  /**
   * GpuThermalThrottling fires when a GPU's clocks are lowered for temperature more than this
   * share of the time. From 0.001 to 1.
   * @default 0.01
   */
  readonly gpuThermalViolationRatio?: number;
  /**
   * GpuPowerThrottling fires when a GPU's clocks are lowered for power more than this share of
   * the time (H100s touch the power cap under normal training load). From 0.001 to 1.
   * @default 0.5
   */
  readonly gpuPowerViolationRatio?: number;
  /**
   * How long thermal or power throttling must last.
   * @default Duration.minutes(10)
   */
  readonly gpuThrottlingFor?: Duration;
  /**
   * Window over which error counters (XID recency, NVLink, EFA, throttling rates) are read.
   * From 1 minute to 24 hours.
   * @default Duration.minutes(10)
   */
  readonly errorCounterWindow?: Duration;
  /**
   * GpuNvlinkErrors fires when recovery or replay errors exceed this count in the window.
   * An integer from 0.
   * @default 0
   */
  readonly nvlinkErrorsPerWindow?: number;
  /**
   * EfaRdmaErrors fires when a node's failed RDMA work requests exceed this count in the window.
   * An integer from 0.
   * @default 0
   */
  readonly efaRdmaErrorsPerWindow?: number;
  /**
   * EfaUnresponsiveRemote fires when a node's unresponsive-remote events exceed this count in the
   * window. An integer from 0.
   * @default 0
   */
  readonly efaUnresponsiveRemotesPerWindow?: number;
  /**
   * How long a scrape target must answer `up == 0` before ScrapeTargetDown fires.
   * @default Duration.minutes(5)
   */
  readonly targetDownFor?: Duration;
  /**
   * How long a node must be down (or silent) before NodeDown fires.
   * @default Duration.minutes(2)
   */
  readonly nodeDownFor?: Duration;
  /**
   * A node that reported within this window and is silent now is down. NodeDown clears once the
   * node has been silent this long (a removed or replaced node stops alerting).
   * Longer than nodeDownFor plus Prometheus' 5 minute staleness, at most 24 hours.
   * @default Duration.hours(1)
   */
  readonly nodeMissingLookback?: Duration;
  /**
   * DiskNearlyFull (warning) fires above this used share of a watched file system, %. From 1 to 99.
   * @default 90
   */
  readonly diskUsedWarningPercent?: number;
  /**
   * DiskFull (critical) fires above this used share, %. From 1 to 99, above the warning.
   * @default 97
   */
  readonly diskUsedCriticalPercent?: number;
  /**
   * How long a file system must stay above a disk threshold.
   * @default Duration.minutes(5)
   */
  readonly diskFullFor?: Duration;
  /**
   * Mount points the disk alerts watch (node_exporter `mountpoint` label): absolute paths.
   * @default ['/', '/opt/dlami/nvme', '/opt/sagemaker'] (root, the P5 local NVMe, and the EBS volume HyperPod
   * mounts at /opt/sagemaker, where the lifecycle puts Docker's data root)
   */
  readonly diskMountPoints?: string[];
  /**
   * Per-node signals (GPU utilisation, SM clocks, tensor activity, EFA rates) are averaged over this window
   * before stall, hang and straggler checks. From 30 seconds to 30 minutes.
   * @default Duration.minutes(2)
   */
  readonly signalWindow?: Duration;
  /**
   * A node whose mean GPU utilisation is below this is idle, %. From 0 to 50.
   * @default 10
   */
  readonly gpuIdlePercent?: number;
  /**
   * A job is busy when the best quartile of its nodes' GPU utilisation is above this, %; straggler checks run
   * only then. From 10 to 99, above gpuIdlePercent.
   * @default 80
   */
  readonly gpuBusyPercent?: number;
  /**
   * How long every GPU of a running job must be idle before TrainingStalled fires.
   * @default Duration.minutes(10)
   */
  readonly trainingStallFor?: Duration;
  /**
   * TrainingStalled needs the job to have been busy within this window. Longer than trainingStallFor plus
   * signalWindow, at most 24 hours.
   * @default Duration.hours(2)
   */
  readonly trainingStallLookback?: Duration;
  /**
   * StragglerHostBound, StragglerNetworkBound and StragglerRankReported fire for a node (rank) below this
   * fraction of its job's best quartile (GPU utilisation, EFA bytes; fastest rank). From 0.1 to 0.99.
   * @default 0.8
   */
  readonly stragglerRatioToPeers?: number;
  /**
   * StragglerComputeBound fires for a busy node whose SM clocks are below this fraction of its job's best
   * quartile. From 0.1 to 0.99.
   * @default 0.9
   */
  readonly stragglerClockRatio?: number;
  /**
   * StragglerNetworkRetransmits fires for a node retransmitting more than this many times its job's median
   * (the median taken as at least efaRetransmitFloorPerSecond). From 1.5 to 1000.
   * @default 4
   */
  readonly stragglerRetransmitFactor?: number;
  /**
   * The least retransmit rate a job's median is taken as, packets per second. From 0.1 to 1e6.
   * @default 10
   */
  readonly efaRetransmitFloorPerSecond?: number;
  /**
   * How long a node must straggle before a steady straggler alert fires.
   * @default Duration.minutes(10)
   */
  readonly stragglerFor?: Duration;
  /**
   * A job is not checked for stragglers until it has held its GPUs this long (loading, compilation).
   * From 0 to 24 hours.
   * @default Duration.minutes(15)
   */
  readonly stragglerWarmup?: Duration;
  /**
   * StragglerIntermittent looks back this far. From 10 minutes to 24 hours, longer than stragglerFor.
   * @default Duration.hours(1)
   */
  readonly intermittentWindow?: Duration;
  /**
   * StragglerIntermittent fires for a node slow more than this share of intermittentWindow. From 0.05 to 0.9.
   * @default 0.25
   */
  readonly intermittentShare?: number;
  /**
   * JobThroughputBelowPlan fires below this fraction of the planned throughput. From 0.1 to 0.99.
   * @default 0.85
   */
  readonly jobThroughputRatioToPlan?: number;
  /**
   * How long a job must run below plan.
   * @default Duration.minutes(20)
   */
  readonly jobThroughputFor?: Duration;
  /**
   * TrainingHang: a job's tensor activity (ratio of cycles) below this on every node. From 0 to 0.5.
   * @default 0.01
   */
  readonly hangTensorActiveRatio?: number;
  /**
   * TrainingHang: EFA bytes per second (sent plus received) below this on every node. From 0 to 1e12.
   * @default 1000000
   */
  readonly hangEfaBytesPerSecond?: number;
  /**
   * How long a hang must last before TrainingHang fires.
   * @default Duration.minutes(5)
   */
  readonly hangFor?: Duration;
  /**
   * TrainingNoProgress fires when the job's log shows no new iteration for this long. From 1 minute to 24 hours.
   * @default Duration.minutes(15)
   */
  readonly noProgressFor?: Duration;
  /**
   * TrainingLossSpike fires when the loss is above this multiple of its median over lossSpikeWindow.
   * From 1.05 to 100.
   * @default 1.5
   */
  readonly lossSpikeRatio?: number;
  /**
   * The window of the loss median. From 10 minutes to 24 hours.
   * @default Duration.hours(1)
   */
  readonly lossSpikeWindow?: Duration;
  /**
   * How long a loss spike must last.
   * @default Duration.minutes(5)
   */
  readonly lossSpikeFor?: Duration;
  /**
   * CheckpointOverdue fires when the last checkpoint is older than this multiple of the plan's save interval.
   * From 1.1 to 100.
   * @default 2
   */
  readonly checkpointIntervalMultiple?: number;
  /**
   * How long a Slurm node must be down/drained/failed, or slurmctld unreachable, before alerting.
   * @default Duration.minutes(5)
   */
  readonly slurmNodeBadFor?: Duration;
  /**
   * How long fewer GPUs or EFA devices than the instance type has must report.
   * @default Duration.minutes(5)
   */
  readonly devicesMissingFor?: Duration;
  /**
   * TextfileMetricsStale fires for a timer-written textfile older than this. From 1 minute to 24 hours.
   * @default Duration.minutes(5)
   */
  readonly textfileStaleAfter?: Duration;
}

/** Options of the rendered rules that are not thresholds. */
export interface AlertRulesOptions {
  /**
   * Where docs/observability-alerts.md is published; each alert links `<runbookUrl>#<alert name in
   * lower case>`. Use the URL your on-call can open (e.g. the file on your Git host).
   * @default 'docs/observability-alerts.md'
   */
  readonly runbookUrl?: string;
}

/** The values used for any threshold not given to renderAlertRules(). */
export const DEFAULT_ALERT_THRESHOLDS: Readonly<Required<AlertThresholds>> = Object.freeze({
  gpuTemperatureWarningCelsius: 80,
  gpuTemperatureWarningFor: Duration.minutes(5),
  gpuTemperatureCriticalCelsius: 85,
  gpuTemperatureCriticalFor: Duration.minutes(1),
  gpuThermalViolationRatio: 0.01,
  gpuPowerViolationRatio: 0.5,
  gpuThrottlingFor: Duration.minutes(10),
  errorCounterWindow: Duration.minutes(10),
  nvlinkErrorsPerWindow: 0,
  efaRdmaErrorsPerWindow: 0,
  efaUnresponsiveRemotesPerWindow: 0,
  targetDownFor: Duration.minutes(5),
  nodeDownFor: Duration.minutes(2),
  nodeMissingLookback: Duration.hours(1),
  diskUsedWarningPercent: 90,
  diskUsedCriticalPercent: 97,
  diskFullFor: Duration.minutes(5),
  diskMountPoints: ['/', '/opt/dlami/nvme', '/opt/sagemaker'],
  signalWindow: Duration.minutes(2),
  gpuIdlePercent: 10,
  gpuBusyPercent: 80,
  trainingStallFor: Duration.minutes(10),
  trainingStallLookback: Duration.hours(2),
  stragglerRatioToPeers: 0.8,
  stragglerClockRatio: 0.9,
  stragglerRetransmitFactor: 4,
  efaRetransmitFloorPerSecond: 10,
  stragglerFor: Duration.minutes(10),
  stragglerWarmup: Duration.minutes(15),
  intermittentWindow: Duration.hours(1),
  intermittentShare: 0.25,
  jobThroughputRatioToPlan: 0.85,
  jobThroughputFor: Duration.minutes(20),
  hangTensorActiveRatio: 0.01,
  hangEfaBytesPerSecond: 1_000_000,
  hangFor: Duration.minutes(5),
  noProgressFor: Duration.minutes(15),
  lossSpikeRatio: 1.5,
  lossSpikeWindow: Duration.hours(1),
  lossSpikeFor: Duration.minutes(5),
  checkpointIntervalMultiple: 2,
  slurmNodeBadFor: Duration.minutes(5),
  devicesMissingFor: Duration.minutes(5),
  textfileStaleAfter: Duration.minutes(5),
});

const RULES_FILE = path.join(__dirname, 'rules', 'training-alerts.yaml');
const DEFAULT_RUNBOOK_URL = 'docs/observability-alerts.md';
/** Prometheus' default lookback: a silent series stays visible this long. */
const STALENESS_SECONDS = 300;
const DAY_SECONDS = 86_400;

type Thresholds = Required<AlertThresholds>;
type NumberField = { [K in keyof Thresholds]: Thresholds[K] extends number ? K : never }[keyof Thresholds];
type DurationField = { [K in keyof Thresholds]: Thresholds[K] extends Duration ? K : never }[keyof Thresholds];

interface Range { readonly min: number; readonly max: number; readonly integer?: boolean }

const NUMBER_RANGES: Record<NumberField, Range> = {
  gpuTemperatureWarningCelsius: { min: 30, max: 120 },
  gpuTemperatureCriticalCelsius: { min: 30, max: 120 },
  gpuThermalViolationRatio: { min: 0.001, max: 1 },
  gpuPowerViolationRatio: { min: 0.001, max: 1 },
  nvlinkErrorsPerWindow: { min: 0, max: 1e9, integer: true },
  efaRdmaErrorsPerWindow: { min: 0, max: 1e9, integer: true },
  efaUnresponsiveRemotesPerWindow: { min: 0, max: 1e9, integer: true },
  diskUsedWarningPercent: { min: 1, max: 99 },
  diskUsedCriticalPercent: { min: 1, max: 99 },
  gpuIdlePercent: { min: 0, max: 50 },
  gpuBusyPercent: { min: 10, max: 99 },
  stragglerRatioToPeers: { min: 0.1, max: 0.99 },
  stragglerClockRatio: { min: 0.1, max: 0.99 },
  stragglerRetransmitFactor: { min: 1.5, max: 1000 },
  efaRetransmitFloorPerSecond: { min: 0.1, max: 1e6 },
  intermittentShare: { min: 0.05, max: 0.9 },
  jobThroughputRatioToPlan: { min: 0.1, max: 0.99 },
  hangTensorActiveRatio: { min: 0, max: 0.5 },
  hangEfaBytesPerSecond: { min: 0, max: 1e12 },
  lossSpikeRatio: { min: 1.05, max: 100 },
  checkpointIntervalMultiple: { min: 1.1, max: 100 },
};

/** Allowed durations in seconds. `for` clauses may be 0 (fire on the first evaluation). */
const DURATION_RANGES: Record<DurationField, Range> = {
  gpuTemperatureWarningFor: { min: 0, max: DAY_SECONDS },
  gpuTemperatureCriticalFor: { min: 0, max: DAY_SECONDS },
  gpuThrottlingFor: { min: 0, max: DAY_SECONDS },
  errorCounterWindow: { min: 60, max: DAY_SECONDS },
  targetDownFor: { min: 0, max: DAY_SECONDS },
  nodeDownFor: { min: 0, max: DAY_SECONDS },
  nodeMissingLookback: { min: 60, max: DAY_SECONDS },
  diskFullFor: { min: 0, max: DAY_SECONDS },
  signalWindow: { min: 30, max: 1800 },
  trainingStallFor: { min: 60, max: DAY_SECONDS },
  trainingStallLookback: { min: 120, max: DAY_SECONDS },
  stragglerFor: { min: 60, max: DAY_SECONDS },
  stragglerWarmup: { min: 0, max: DAY_SECONDS },
  intermittentWindow: { min: 600, max: DAY_SECONDS },
  jobThroughputFor: { min: 0, max: DAY_SECONDS },
  hangFor: { min: 60, max: DAY_SECONDS },
  noProgressFor: { min: 60, max: DAY_SECONDS },
  lossSpikeWindow: { min: 600, max: DAY_SECONDS },
  lossSpikeFor: { min: 0, max: DAY_SECONDS },
  slurmNodeBadFor: { min: 0, max: DAY_SECONDS },
  devicesMissingFor: { min: 0, max: DAY_SECONDS },
  textfileStaleAfter: { min: 60, max: DAY_SECONDS },
};

/**
 * Renders the training alert and recording rules as a Prometheus rules file (the `Data` of an AMP
 * rule groups namespace), with `thresholds` over DEFAULT_ALERT_THRESHOLDS.
 *
 * @throws Error `<field> must be <what is allowed>, got <value>` for a value the rules cannot use.
 */
export function renderAlertRules(thresholds: AlertThresholds = {}, options: AlertRulesOptions = {}): string {
  const resolved = resolveThresholds(thresholds);
  const runbookUrl = options.runbookUrl ?? DEFAULT_RUNBOOK_URL;
  validateRunbookUrl(runbookUrl);
  const values = templateValues(resolved, runbookUrl);
  return fs.readFileSync(RULES_FILE, 'utf8').replace(/\$\{(\w+)\}/g, (_, name: string) => {
    const value = values.get(name);
    if (value === undefined) throw new Error(`${RULES_FILE} uses an unknown setting \${${name}}`);
    return value;
  });
}

function resolveThresholds(overrides: AlertThresholds): Thresholds {
  for (const key of Object.keys(overrides)) {
    if (!(key in DEFAULT_ALERT_THRESHOLDS)) {
      throw new Error(`${key} is not an alert threshold; known: ${Object.keys(DEFAULT_ALERT_THRESHOLDS).join(', ')}`);
    }
  }
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  const t: Thresholds = { ...DEFAULT_ALERT_THRESHOLDS, ...defined };
  for (const [field, range] of Object.entries(NUMBER_RANGES)) validateNumber(field, t[field as NumberField], range);
  for (const [field, range] of Object.entries(DURATION_RANGES)) validateDuration(field, t[field as DurationField], range);
  validateMountPoints(t.diskMountPoints);
  validateOrder(t);
  return t;
}

function validateNumber(field: string, value: number, range: Range): void {
  if (Token.isUnresolved(value)) throw new Error(`${field} must be known at synth time, got a token`);
  const ok = typeof value === 'number' && Number.isFinite(value) && value >= range.min && value <= range.max
    && (!range.integer || Number.isInteger(value));
  if (ok) return;
  const kind = range.integer ? 'an integer' : 'a number';
  const upper = range.max >= 1e9 ? `of at least ${range.min}` : `from ${range.min} to ${range.max}`;
  throw new Error(`${field} must be ${kind} ${upper}, got ${value}`);
}

function validateDuration(field: string, value: Duration, range: Range): void {
  const allowed = `a duration of whole seconds from ${formatSeconds(range.min)} to ${formatSeconds(range.max)}`;
  if (!(value instanceof Duration) || value.isUnresolved()) {
    throw new Error(`${field} must be ${allowed} known at synth time, got ${String(value)}`);
  }
  const ms = value.toMilliseconds();
  if (ms % 1000 !== 0 || ms / 1000 < range.min || ms / 1000 > range.max) {
    throw new Error(`${field} must be ${allowed}, got ${value.toHumanString()}`);
  }
}

/** Mount points go into a PromQL regex: keep to plain path characters so nothing needs quoting. */
function validateMountPoints(mountPoints: string[]): void {
  const bad = !Array.isArray(mountPoints) || mountPoints.length === 0
    || mountPoints.some((m) => typeof m !== 'string' || !/^\/[A-Za-z0-9._\-/]*$/.test(m));
  if (bad) {
    throw new Error('diskMountPoints must be a non-empty list of absolute paths of letters, digits, '
      + `'.', '_', '-' and '/', got ${JSON.stringify(mountPoints)}`);
  }
}

/** Pairs whose order the rules depend on; a wrong order makes an alert fire always or never. */
function validateOrder(t: Thresholds): void {
  requireAbove('gpuTemperatureCriticalCelsius', t.gpuTemperatureCriticalCelsius,
    'gpuTemperatureWarningCelsius', t.gpuTemperatureWarningCelsius);
  requireAbove('diskUsedCriticalPercent', t.diskUsedCriticalPercent, 'diskUsedWarningPercent', t.diskUsedWarningPercent);
  requireAbove('gpuBusyPercent', t.gpuBusyPercent, 'gpuIdlePercent', t.gpuIdlePercent);
  const missingMin = seconds(t.nodeDownFor) + STALENESS_SECONDS;
  requireLonger('nodeMissingLookback', t.nodeMissingLookback, missingMin, 'nodeDownFor plus the 5m staleness');
  const stallMin = seconds(t.trainingStallFor) + seconds(t.signalWindow);
  requireLonger('trainingStallLookback', t.trainingStallLookback, stallMin, 'trainingStallFor plus signalWindow');
  requireLonger('intermittentWindow', t.intermittentWindow, seconds(t.stragglerFor), 'stragglerFor');
}

function requireAbove(field: string, value: number, otherField: string, other: number): void {
  if (value > other) return;
  throw new Error(`${field} must be above ${otherField} (${other}), got ${value}`);
}

function requireLonger(field: string, value: Duration, minSeconds: number, what: string): void {
  if (seconds(value) > minSeconds) return;
  throw new Error(`${field} must be longer than ${what} (${formatSeconds(minSeconds)}), got ${prometheusDuration(value)}`);
}

function validateRunbookUrl(url: string): void {
  if (typeof url === 'string' && /^[^\s'"#]+$/.test(url)) return;
  throw new Error(`runbookUrl must be a URL or path without spaces, quotes or '#', got ${JSON.stringify(url)}`);
}

/** Every `${name}` the rules file may use: the thresholds, formatted for PromQL, plus derived values. */
function templateValues(t: Thresholds, runbookUrl: string): Map<string, string> {
  const values = new Map<string, string>([['runbookUrl', runbookUrl]]);
  for (const field of Object.keys(NUMBER_RANGES) as NumberField[]) values.set(field, String(t[field]));
  for (const field of Object.keys(DURATION_RANGES) as DurationField[]) values.set(field, prometheusDuration(t[field]));
  // time() comparisons need plain seconds.
  values.set('noProgressForSeconds', String(seconds(t.noProgressFor)));
  values.set('textfileStaleSeconds', String(seconds(t.textfileStaleAfter)));
  values.set('diskMountPointRegex', t.diskMountPoints.map(escapeForPromqlRegex).join('|'));
  return values;
}

/** `.` is the only regex character a valid mount point can hold; the PromQL string `"\\."` is the regex `\.`. */
function escapeForPromqlRegex(mountPoint: string): string {
  return mountPoint.replace(/\./g, '\\\\.');
}

function seconds(d: Duration): number {
  return d.toMilliseconds() / 1000;
}

/** A whole-second Duration as a Prometheus/Alertmanager duration in its largest whole unit: 2h, 10m, 90s. */
export function prometheusDuration(d: Duration): string {
  return formatSeconds(seconds(d));
}

function formatSeconds(s: number): string {
  if (s > 0 && s % 3600 === 0) return `${s / 3600}h`;
  if (s > 0 && s % 60 === 0) return `${s / 60}m`;
  return `${s}s`;
}
