import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Duration, Token } from 'aws-cdk-lib';
import { AlertThresholds, DEFAULT_ALERT_THRESHOLDS, renderAlertRules } from '../../lib/observability/alert-rules';
import { DASHBOARDS_DIR } from '../../lib/observability/grafana-dashboards';
import { metricNames } from './promql';
import { parseRuleGroups } from './rule-file';
import { ruleGroupOrder } from './scenarios';
import { SCENARIOS } from './straggler-scenarios';

/**
 * The rules are proven with promtool on rendered files: `check rules` for syntax, `test rules` for
 * behaviour (test/observability/rules/*.test.yaml). The promtool runs start together in beforeAll
 * and are awaited by the tests, so the suite costs about as long as the slowest run.
 */

const RULES_TESTS = path.join(__dirname, 'rules');
const DOCS = path.join(__dirname, '..', '..', 'docs', 'observability-alerts.md');

const ALERTS = [
  'GpuXidError', 'GpuXidApplicationError', 'GpuEccDoubleBitError', 'GpuRowRemapFailure', 'GpuNvlinkErrors',
  'GpuThermalThrottling', 'GpuPowerThrottling', 'GpuTemperatureHigh', 'GpuTemperatureCritical', 'EfaRdmaErrors',
  'EfaUnresponsiveRemote', 'ScrapeTargetDown', 'NodeDown', 'DiskNearlyFull', 'DiskFull', 'NodeDegraded',
  'StragglerHostBound', 'StragglerComputeBound', 'StragglerNetworkBound', 'StragglerNetworkRetransmits',
  'StragglerIntermittent', 'TrainingHang', 'TrainingStalled', 'JobThroughputBelowPlan', 'StragglerRankReported',
  'TrainingNoProgress', 'TrainingLossInvalid', 'TrainingLossSpike', 'CheckpointOverdue', 'SlurmNodeUnavailable',
  'SlurmControllerDown', 'GpusMissing', 'EfaDevicesMissing', 'TextfileMetricsStale', 'Watchdog',
];
const JOB_ALERTS = ['JobThroughputBelowPlan', 'StragglerRankReported', 'TrainingHang', 'TrainingStalled',
  'TrainingNoProgress', 'TrainingLossInvalid', 'TrainingLossSpike', 'CheckpointOverdue'];
const RECORDS = [
  'gpu:xid_errors:last', 'node:gpu_util:avg', 'node:efa_bytes:rate', 'node:efa_retransmits:rate',
  'node_job:gpus:count', 'node_job:gpu_util:avg', 'node_job:sm_clock_mhz:avg', 'node_job:tensor_active:avg',
  'node_job:efa_bytes:rate', 'node_job:efa_retransmits:rate', 'job:gpu_util:best_quartile',
  'job:sm_clock_mhz:best_quartile', 'job:efa_bytes:best_quartile', 'job:efa_retransmits:median',
  'job:straggler_checks:active', 'node_job:gpu_util:ratio_to_peers', 'node_job:sm_clock:ratio_to_peers',
  'node_job:efa_bytes:ratio_to_peers', 'node_job:efa_retransmits:ratio_to_peers', 'node_job:straggling',
  'node_job:straggler_checked',
];

/** Non-default settings; custom/custom-thresholds.test.yaml expects exactly these. */
const CUSTOM_THRESHOLDS: AlertThresholds = {
  gpuTemperatureWarningCelsius: 70,
  gpuTemperatureWarningFor: Duration.minutes(2),
  diskMountPoints: ['/', '/opt/sagemaker'],
};
const CUSTOM_RUNBOOK = 'https://runbooks.example.com/training/observability-alerts.md';

interface ToolRun { readonly code: number; readonly output: string }

function run(command: string, args: string[]): Promise<ToolRun> {
  return new Promise((resolve) => {
    execFile(command, args, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

/** Writes rules as training-alerts.yaml (the name the unit tests load) beside copies of the tests. */
function stage(dir: string, rules: string, testFiles: string[]): string[] {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'training-alerts.yaml'), rules);
  return testFiles.map((file) => {
    const target = path.join(dir, path.basename(file));
    fs.copyFileSync(file, target);
    return target;
  });
}

const defaultTestFiles = fs.readdirSync(RULES_TESTS)
  .filter((f) => f.endsWith('.test.yaml'))
  .map((f) => path.join(RULES_TESTS, f));
const customTestFile = path.join(RULES_TESTS, 'custom', 'custom-thresholds.test.yaml');

let workDir: string;
let defaultRules: string;
let customRules: string;
let runs: {
  check: Promise<ToolRun>;
  unitTests: Promise<ToolRun>[];
  custom: Promise<ToolRun>;
  customTestsOnDefaultRules: Promise<ToolRun>;
};

beforeAll(() => {
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'alert-rules-'));
  defaultRules = renderAlertRules();
  customRules = renderAlertRules(CUSTOM_THRESHOLDS, { runbookUrl: CUSTOM_RUNBOOK });
  const defaultTests = stage(path.join(workDir, 'default'), defaultRules, defaultTestFiles);
  const [customTest] = stage(path.join(workDir, 'custom'), customRules, [customTestFile]);
  const [customTestOnDefaults] = stage(path.join(workDir, 'custom-on-defaults'), defaultRules, [customTestFile]);
  runs = {
    check: run('promtool', ['check', 'rules', path.join(workDir, 'default', 'training-alerts.yaml')]),
    unitTests: defaultTests.map((file) => run('promtool', ['test', 'rules', file])),
    custom: run('promtool', ['test', 'rules', customTest]),
    customTestsOnDefaultRules: run('promtool', ['test', 'rules', customTestOnDefaults]),
  };
});

afterAll(async () => {
  if (runs) await Promise.all([runs.check, runs.custom, runs.customTestsOnDefaultRules, ...runs.unitTests]);
  fs.rmSync(workDir, { recursive: true, force: true });
});

describe('rendered default rules', () => {
  test('pass promtool check rules with every alert and recording rule', async () => {
    const result = await runs.check;
    expect(result).toMatchObject({ code: 0 });
    expect(result.output).toContain(`SUCCESS: ${ALERTS.length + RECORDS.length} rules found`);
    expect(namesOf(defaultRules, 'alert')).toEqual(ALERTS);
    expect(namesOf(defaultRules, 'record')).toEqual(RECORDS);
  });

  test.each(defaultTestFiles.map((f) => path.basename(f)))('pass the promtool unit tests in %s', async (name) => {
    const result = await runs.unitTests[defaultTestFiles.findIndex((f) => path.basename(f) === name)];
    expect(result).toMatchObject({ code: 0 });
    expect(result.output).toContain('SUCCESS');
  });

  test.each([...defaultTestFiles, customTestFile].map((f) => path.relative(RULES_TESTS, f)))(
    '%s evaluates every rule group in file order (promtool runs unlisted groups in random order)', (name) => {
      const order = /^group_eval_order: \[([^\]]*)\]/m.exec(fs.readFileSync(path.join(RULES_TESTS, name), 'utf8'));
      expect(order?.[1].split(',').map((g) => g.trim())).toEqual(ruleGroupOrder(defaultRules));
    });

  test('leave no setting unfilled', () => {
    expect(defaultRules).not.toMatch(/\$\{\w+\}/);
    expect(defaultRules).toContain('DCGM_FI_DEV_GPU_TEMP) > 80\n');
    expect(defaultRules).toContain('mountpoint=~"/|/opt/dlami/nvme|/opt/sagemaker"');
  });
});

/**
 * The one series (or few) each alert judges, which an operator answering it must be able to see on a dashboard.
 * Each must be read by the alert's expression (recording rules followed down to the exporters' series), and one
 * dashboard panel must query them all; dashboards-prometheus.test.ts proves every panel returns data.
 */
const PANEL_SERIES: Record<string, string[]> = {
  GpuXidError: ['DCGM_FI_DEV_XID_ERRORS'],
  GpuXidApplicationError: ['DCGM_FI_DEV_XID_ERRORS'],
  GpuEccDoubleBitError: ['DCGM_FI_DEV_ECC_DBE_VOL_TOTAL'],
  GpuRowRemapFailure: ['DCGM_FI_DEV_ROW_REMAP_FAILURE'],
  GpuNvlinkErrors: ['DCGM_FI_DEV_NVLINK_RECOVERY_ERROR_COUNT_TOTAL', 'DCGM_FI_DEV_NVLINK_REPLAY_ERROR_COUNT_TOTAL'],
  GpuThermalThrottling: ['DCGM_FI_DEV_THERMAL_VIOLATION'],
  GpuPowerThrottling: ['DCGM_FI_DEV_POWER_VIOLATION'],
  GpuTemperatureHigh: ['DCGM_FI_DEV_GPU_TEMP'],
  GpuTemperatureCritical: ['DCGM_FI_DEV_GPU_TEMP'],
  EfaRdmaErrors: ['node_amazonefa_rdma_read_wr_err', 'node_amazonefa_rdma_write_wr_err'],
  EfaUnresponsiveRemote: ['node_amazonefa_unresponsive_remote_events'],
  ScrapeTargetDown: ['up'],
  NodeDown: ['up'],
  DiskNearlyFull: ['node_filesystem_avail_bytes', 'node_filesystem_size_bytes'],
  DiskFull: ['node_filesystem_avail_bytes', 'node_filesystem_size_bytes'],
  NodeDegraded: ['hyperpod_lifecycle_step_failed'],
  StragglerHostBound: ['DCGM_FI_DEV_GPU_UTIL'],
  StragglerComputeBound: ['DCGM_FI_DEV_SM_CLOCK'],
  StragglerNetworkBound: ['node_amazonefa_tx_bytes', 'node_amazonefa_rx_bytes', 'DCGM_FI_DEV_GPU_UTIL'],
  StragglerNetworkRetransmits: ['node_amazonefa_retrans_pkts', 'DCGM_FI_DEV_GPU_UTIL'],
  StragglerIntermittent: ['DCGM_FI_DEV_GPU_UTIL', 'DCGM_FI_DEV_SM_CLOCK'],
  JobThroughputBelowPlan: ['megatron_throughput_tflops_per_gpu', 'megatron_plan_tflops_per_gpu',
    'megatron_iteration_time_seconds', 'megatron_plan_iteration_seconds'],
  StragglerRankReported: ['megatron_straggler_rank_tflops'],
  TrainingHang: ['DCGM_FI_DEV_GPU_UTIL', 'DCGM_FI_PROF_PIPE_TENSOR_ACTIVE', 'node_amazonefa_tx_bytes', 'node_amazonefa_rx_bytes'],
  TrainingStalled: ['DCGM_FI_DEV_GPU_UTIL'],
  TrainingNoProgress: ['megatron_progress_timestamp_seconds', 'megatron_start_timestamp_seconds'],
  TrainingLossInvalid: ['megatron_nan_iterations_total', 'megatron_loss'],
  TrainingLossSpike: ['megatron_loss'],
  CheckpointOverdue: ['megatron_last_checkpoint_timestamp_seconds', 'megatron_start_timestamp_seconds',
    'megatron_plan_save_interval_seconds'],
  SlurmNodeUnavailable: ['slurm_node_state'],
  SlurmControllerDown: ['slurm_controller_up'],
  GpusMissing: ['hyperpod_node_expected_gpus', 'DCGM_FI_DEV_GPU_UTIL'],
  EfaDevicesMissing: ['hyperpod_node_expected_efa_devices', 'node_amazonefa_tx_bytes'],
  TextfileMetricsStale: ['node_textfile_mtime_seconds', 'node_textfile_scrape_error'],
};
/** The Watchdog reads no series (vector(1)) and fires always: its proof is the heartbeat receiver, not a panel. */
const NO_PANEL = ['Watchdog'];

describe('every alert has its three artefacts', () => {
  const cases = [
    ...alertTestCases(defaultTestFiles.map((f) => fs.readFileSync(f, 'utf8')).join('\n')),
    ...SCENARIOS.flatMap((s) => s.checks.map((c) => ({ alert: c.alertname, fires: c.exp_alerts.length > 0 }))),
  ];
  const docs = fs.readFileSync(DOCS, 'utf8');
  const panels = dashboardPanels();

  test('every alert is listed here or exempt from a panel, and nothing else is', () => {
    expect([...Object.keys(PANEL_SERIES), ...NO_PANEL].sort()).toEqual([...ALERTS].sort());
  });

  test.each(ALERTS)('%s: promtool tests where it fires and stays silent, a runbook section, a dashboard panel on its series', (alert) => {
    // (a) The Watchdog fires always, by design: it has no silent case.
    const outcomes = cases.filter((c) => c.alert === alert).map((c) => c.fires);
    expect({ alert, outcomes }).toEqual({ alert, outcomes: expect.arrayContaining(alert === 'Watchdog' ? [true] : [false, true]) });
    // (b) The section runbook_url points at.
    expect(docs).toMatch(new RegExp(`^### ${alert}$`, 'm'));
    if (NO_PANEL.includes(alert)) return;
    // (c) The series are the alert's own, and the panel the runbook section names shows them all.
    const series = PANEL_SERIES[alert];
    expect({ alert, notRead: series.filter((m) => !seriesRead(defaultRules, alert).has(m)) }).toEqual({ alert, notRead: [] });
    const named = /^Dashboard: \*\*(.+)\*\*\.$/m.exec(runbookSection(docs, alert))?.[1];
    const showing = panels.filter((p) => series.every((m) => p.metrics.has(m))).map((p) => p.name);
    expect({ alert, named, shows: showing.includes(named ?? '') }).toEqual({ alert, named, shows: true });
  });

  test('the series check follows recording rules down to the exporters and refuses a series the alert does not read', () => {
    const read = seriesRead(defaultRules, 'StragglerIntermittent');
    expect([...read].sort()).toEqual(expect.arrayContaining(['DCGM_FI_DEV_GPU_UTIL', 'DCGM_FI_DEV_SM_CLOCK', 'node_amazonefa_retrans_pkts']));
    expect(read.has('DCGM_FI_DEV_GPU_TEMP')).toBe(false);
  });
});

describe('alert metadata', () => {
  test.each(ALERTS)('%s has a severity, summary, description with the node and a runbook link', (alert) => {
    const block = alertBlock(defaultRules, alert);
    expect(block).toMatch(/summary: '.+'/);
    expect(block).toMatch(/severity: (critical|warning|none)\n/);
    // Job-wide alerts name the job; the Watchdog names nothing.
    if (JOB_ALERTS.includes(alert)) expect(block).toMatch(/description: '.*\{\{ \$labels\.hpc_job \}\}.*'/);
    else if (alert !== 'Watchdog') expect(block).toMatch(/description: '.*\{\{ \$labels\.Hostname \}\}.*'/);
    expect(block).toContain(`runbook_url: 'docs/observability-alerts.md#${alert.toLowerCase()}'`);
  });
});

describe('non-default thresholds', () => {
  test('pass the custom promtool unit tests', async () => {
    const result = await runs.custom;
    expect(result).toMatchObject({ code: 0 });
    expect(result.output).toContain('SUCCESS');
  });

  test('change behaviour: every custom test case fails against the default rules', async () => {
    const result = await runs.customTestsOnDefaultRules;
    expect(result.code).not.toBe(0);
    for (const name of testNames(fs.readFileSync(customTestFile, 'utf8'))) expect(result.output).toContain(`name: ${name},`);
  });

  test('appear in the rendered text', () => {
    expect(customRules).toContain('DCGM_FI_DEV_GPU_TEMP) > 70\n        for: 2m\n');
    expect(customRules).toContain('mountpoint=~"/|/opt/sagemaker"');
    expect(customRules).toContain(`runbook_url: '${CUSTOM_RUNBOOK}#stragglerhostbound'`);
    expect(customRules).not.toContain("runbook_url: 'docs/");
  });

  test('undefined fields keep their defaults', () => {
    expect(renderAlertRules({ gpuBusyPercent: undefined })).toEqual(defaultRules);
  });

  test('escape regex characters in mount points', () => {
    expect(renderAlertRules({ diskMountPoints: ['/mnt/data.1'] })).toContain('mountpoint=~"/mnt/data\\\\.1"');
  });
});

describe('threshold validation', () => {
  const token = Token.asNumber({ Ref: 'Threshold' });

  test.each<[string, AlertThresholds, RegExp]>([
    ['out of range', { gpuTemperatureWarningCelsius: 150 },
      /^gpuTemperatureWarningCelsius must be a number from 30 to 120, got 150$/],
    ['not an integer', { nvlinkErrorsPerWindow: 1.5 }, /^nvlinkErrorsPerWindow must be an integer of at least 0, got 1.5$/],
    ['a token', { gpuBusyPercent: token }, /^gpuBusyPercent must be known at synth time, got a token$/],
    ['warning above critical', { gpuTemperatureWarningCelsius: 90 },
      /^gpuTemperatureCriticalCelsius must be above gpuTemperatureWarningCelsius \(90\), got 85$/],
    ['disk warning above critical', { diskUsedWarningPercent: 98 },
      /^diskUsedCriticalPercent must be above diskUsedWarningPercent \(98\), got 97$/],
    ['idle above busy', { gpuIdlePercent: 50, gpuBusyPercent: 40 }, /^gpuBusyPercent must be above gpuIdlePercent \(50\), got 40$/],
    ['fractional seconds', { signalWindow: Duration.millis(1500) },
      /^signalWindow must be a duration of whole seconds from 30s to 30m, got 1 second 500 millis$/],
    ['too short a window', { errorCounterWindow: Duration.seconds(30) },
      /^errorCounterWindow must be a duration of whole seconds from 1m to 24h, got 30 seconds$/],
    ['a token duration', { stragglerFor: Duration.minutes(token) }, /^stragglerFor must be .* known at synth time/],
    ['stall lookback too short', { trainingStallFor: Duration.hours(2) },
      /^trainingStallLookback must be longer than trainingStallFor plus signalWindow \(122m\), got 2h$/],
    ['intermittent window shorter than stragglerFor', { stragglerFor: Duration.hours(2) },
      /^intermittentWindow must be longer than stragglerFor \(2h\), got 1h$/],
    ['node lookback too short', { nodeDownFor: Duration.hours(1) },
      /^nodeMissingLookback must be longer than nodeDownFor plus the 5m staleness \(65m\), got 1h$/],
    ['relative mount point', { diskMountPoints: ['data'] }, /^diskMountPoints must be a non-empty list of absolute paths.*got \["data"\]$/],
    ['no mount point', { diskMountPoints: [] }, /^diskMountPoints must be a non-empty list/],
    ['unknown field', { gpuTempWarning: 70 } as AlertThresholds, /^gpuTempWarning is not an alert threshold; known: gpuTemperatureWarningCelsius, /],
  ])('refuses %s', (_, thresholds, message) => {
    expect(() => renderAlertRules(thresholds)).toThrow(message);
  });

  test('refuses a runbook URL that would break the YAML string', () => {
    expect(() => renderAlertRules({}, { runbookUrl: "it's here" })).toThrow(/^runbookUrl must be a URL or path without spaces, quotes or '#', got "it's here"$/);
  });

  test('defaults pass their own validation', () => {
    expect(() => renderAlertRules({ ...DEFAULT_ALERT_THRESHOLDS })).not.toThrow();
  });
});

/** Each rule's expression, by alert or record name. */
function expressions(rules: string): Map<string, string> {
  return new Map(parseRuleGroups(rules).flatMap((g) => g.rules.map((r) => [r.name, r.expr] as const)));
}

/** The exporters' series an alert reads: the metric names in its expression, recording rules replaced by theirs. */
function seriesRead(rules: string, name: string): Set<string> {
  const exprs = expressions(rules);
  const read = new Set<string>();
  const visit = (n: string): void => {
    const expr = exprs.get(n);
    expect({ n, defined: expr !== undefined }).toEqual({ n, defined: true });
    for (const m of metricNames(expr!)) {
      if (exprs.has(m)) visit(m);
      else read.add(m);
    }
  };
  visit(name);
  return read;
}

/** The text of an alert's runbook section, from its heading to the next heading. */
function runbookSection(docs: string, alert: string): string {
  const start = docs.indexOf(`### ${alert}\n`);
  const rest = docs.slice(start + 4);
  return rest.slice(0, rest.search(/^##/m));
}

interface DashboardPanel { readonly name: string; readonly metrics: Set<string> }

/** Every query panel of the shipped dashboards with the metrics its targets read together. */
function dashboardPanels(): DashboardPanel[] {
  type Panel = { title?: string; targets?: Array<{ expr?: string }>; panels?: Panel[] };
  const flat = (ps: Panel[]): Panel[] => ps.flatMap((p) => [p, ...flat(p.panels ?? [])]);
  return fs.readdirSync(DASHBOARDS_DIR).filter((f) => f.endsWith('.json')).flatMap((file) => {
    const doc = JSON.parse(fs.readFileSync(path.join(DASHBOARDS_DIR, file), 'utf8')) as { title: string; panels: Panel[] };
    return flat(doc.panels).filter((p) => p.targets?.length).map((p) => ({
      name: `${doc.title} › ${p.title}`,
      metrics: new Set(p.targets!.flatMap((t) => metricNames(t.expr ?? ''))),
    }));
  });
}

function namesOf(rules: string, kind: 'alert' | 'record'): string[] {
  return [...rules.matchAll(new RegExp(`^ +- ${kind}: (\\S+)$`, 'gm'))].map((m) => m[1]);
}

/** The text of one alert rule, from its `- alert:` line to the next rule or group. */
function alertBlock(rules: string, alert: string): string {
  const start = rules.indexOf(`- alert: ${alert}\n`);
  expect(start).toBeGreaterThanOrEqual(0);
  const rest = rules.slice(start + 1);
  const end = rest.search(/^ +- (alert|record|name): /m);
  return end < 0 ? rest : rest.slice(0, end);
}

/** Each alert_rule_test entry: its alert and whether it expects the alert to fire. */
function alertTestCases(testYaml: string): { alert: string; fires: boolean }[] {
  return [...testYaml.matchAll(/^ +alertname: (\w+)\n +exp_alerts:(.*)$/gm)]
    .map((m) => ({ alert: m[1], fires: m[2].trim() !== '[]' }));
}

function testNames(testYaml: string): string[] {
  return [...testYaml.matchAll(/^ {2}- name: (.+)$/gm)].map((m) => m[1]);
}
