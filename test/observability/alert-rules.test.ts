import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Duration, Token } from 'aws-cdk-lib';
import { AlertThresholds, DEFAULT_ALERT_THRESHOLDS, renderAlertRules } from '../../lib/observability/alert-rules';
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
  'StragglerIntermittent', 'JobThroughputBelowPlan', 'StragglerRankReported', 'TrainingHang', 'TrainingStalled',
  'TrainingNoProgress', 'TrainingLossInvalid', 'TrainingLossSpike', 'CheckpointOverdue', 'SlurmNodeUnavailable',
  'SlurmControllerDown', 'GpusMissing', 'EfaDevicesMissing', 'TextfileMetricsStale', 'Watchdog',
];
const JOB_ALERTS = ['JobThroughputBelowPlan', 'StragglerRankReported', 'TrainingHang', 'TrainingStalled',
  'TrainingNoProgress', 'TrainingLossInvalid', 'TrainingLossSpike', 'CheckpointOverdue'];
const RECORDS = [
  'node:gpu_util:avg', 'gpu:xid_errors:last', 'node:efa_bytes:rate', 'node:efa_retransmits:rate',
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

describe('unit test coverage', () => {
  const cases = [
    ...alertTestCases(defaultTestFiles.map((f) => fs.readFileSync(f, 'utf8')).join('\n')),
    ...SCENARIOS.flatMap((s) => s.checks.map((c) => ({ alert: c.alertname, fires: c.exp_alerts.length > 0 }))),
  ];

  // The Watchdog fires always, by design: it has no silent case.
  test('the Watchdog has a test where it fires', () => {
    expect(cases.filter((c) => c.alert === 'Watchdog').map((c) => c.fires)).toContain(true);
  });

  test.each(ALERTS.filter((a) => a !== 'Watchdog'))('%s has a test where it fires and one where it stays silent', (alert) => {
    expect(cases.filter((c) => c.alert === alert).map((c) => c.fires)).toEqual(
      expect.arrayContaining([false, true]),
    );
  });
});

describe('alert metadata', () => {
  const docs = fs.readFileSync(DOCS, 'utf8');

  test.each(ALERTS)('%s has a severity, summary, description with the node and a runbook section', (alert) => {
    const block = alertBlock(defaultRules, alert);
    expect(block).toMatch(/summary: '.+'/);
    expect(block).toMatch(/severity: (critical|warning|none)\n/);
    // Job-wide alerts name the job; the Watchdog names nothing.
    if (JOB_ALERTS.includes(alert)) expect(block).toMatch(/description: '.*\{\{ \$labels\.hpc_job \}\}.*'/);
    else if (alert !== 'Watchdog') expect(block).toMatch(/description: '.*\{\{ \$labels\.Hostname \}\}.*'/);
    expect(block).toContain(`runbook_url: 'docs/observability-alerts.md#${alert.toLowerCase()}'`);
    expect(docs).toMatch(new RegExp(`^### ${alert}$`, 'm'));
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
