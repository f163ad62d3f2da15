import { ChildProcess, execFile, spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { Duration, Token } from 'aws-cdk-lib';
import {
  AlertmanagerDefinitionOptions, renderAlertmanagerDefinition,
} from '../../lib/observability/alertmanager-definition';

/**
 * The definition is proven with the real tools: `amtool check-config` and `amtool config routes test`
 * on the inner configuration, and a local Alertmanager for the inhibit rule (amtool cannot test
 * inhibition). AMP wraps the configuration in `alertmanager_config: |`; amtool wants it bare.
 */

const TOPIC = 'arn:aws:sns:us-east-1:123456789012:training-alerts';
const OPTIONS: AlertmanagerDefinitionOptions = { topicArn: TOPIC, region: 'us-east-1' };

interface ToolRun { readonly code: number; readonly output: string }

function run(command: string, args: string[]): Promise<ToolRun> {
  return new Promise((resolve) => {
    execFile(command, args, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

/** The Alertmanager configuration inside AMP's `alertmanager_config: |` literal block. */
function innerConfig(definition: string): string {
  const [first, ...rest] = definition.trimEnd().split('\n');
  expect(first).toBe('alertmanager_config: |');
  expect(rest.filter((line) => !line.startsWith('  '))).toEqual([]);
  return rest.map((line) => line.slice(2)).join('\n') + '\n';
}

let workDir: string;
let defaultConfig: string;
let customConfig: string;

function writeConfig(name: string, definition: string): string {
  const file = path.join(workDir, name);
  fs.writeFileSync(file, innerConfig(definition));
  return file;
}

const ROUTES: [string, string][] = [
  ['severity=critical', 'critical'],
  ['severity=warning', 'warning'],
  ['alertname=AddedLater', 'warning'], // no severity label: the quieter receiver
  ['alertname=Watchdog severity=none', 'heartbeat'],
  ['alertname=Watchdog severity=critical', 'heartbeat'], // never to the alert topics
];
let checks: { default: Promise<ToolRun>; custom: Promise<ToolRun>; routes: Promise<ToolRun>[] };

beforeAll(() => {
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'alertmanager-'));
  defaultConfig = writeConfig('default.yml', renderAlertmanagerDefinition(OPTIONS));
  customConfig = writeConfig('custom.yml', renderAlertmanagerDefinition({
    ...OPTIONS,
    warningTopicArn: 'arn:aws:sns:us-east-1:123456789012:training-tickets',
    groupBy: ['alertname', 'Hostname'],
    groupWait: Duration.seconds(10),
    groupInterval: Duration.minutes(2),
    repeatInterval: Duration.hours(1),
    heartbeatTopicArn: 'arn:aws:sns:us-east-1:123456789012:training-heartbeat',
    heartbeatInterval: Duration.minutes(2),
  }));
  checks = {
    default: run('amtool', ['check-config', defaultConfig]),
    custom: run('amtool', ['check-config', customConfig]),
    routes: ROUTES.map(([labels, receiver]) => run('amtool',
      ['config', 'routes', 'test', `--config.file=${defaultConfig}`, `--verify.receivers=${receiver}`, ...labels.split(" ")])),
  };
});

afterAll(async () => {
  if (checks) await Promise.all([checks.default, checks.custom, ...checks.routes]);
  fs.rmSync(workDir, { recursive: true, force: true });
});

describe('default definition', () => {
  test('passes amtool check-config', async () => {
    const result = await checks.default;
    expect(result).toMatchObject({ code: 0 });
    expect(result.output).toContain('SUCCESS');
    expect(result.output).toContain('1 inhibit rules');
    expect(result.output).toContain('3 receivers');
  });

  test.each(ROUTES.map(([labels, receiver], i) => [labels, receiver, i] as const))(
    'routes %s to the %s receiver', async (_labels, _receiver, i) => {
      expect(await checks.routes[i]).toMatchObject({ code: 0 });
    });

  test('sends only to SNS with a SigV4 region, as AMP requires', () => {
    const config = fs.readFileSync(defaultConfig, 'utf8');
    expect(config).not.toMatch(/api_url|http_config|webhook_configs|email_configs|slack_configs/);
    expect(config.match(/sns_configs:\n {6}- topic_arn: "arn:aws:sns:us-east-1:123456789012:training-alerts"\n {8}sigv4:\n {10}region: "us-east-1"\n/g)).toHaveLength(2);
    expect(config).toContain('repeat_interval: "4h"');
    expect(config).toContain('group_by: ["alertname"]');
  });

  test('mutes a node\'s warnings while a critical alert fires for that node, and nothing else', async () => {
    const alertmanager = await startAlertmanager(defaultConfig);
    try {
      const states = await postAndRead(alertmanager.url, [
        { alertname: 'GpuXidError', severity: 'critical', Hostname: 'ip-10-1-0-1', gpu: '3' },
        { alertname: 'DiskNearlyFull', severity: 'warning', Hostname: 'ip-10-1-0-1', mountpoint: '/' },
        { alertname: 'DiskNearlyFull', severity: 'warning', Hostname: 'ip-10-1-0-2', mountpoint: '/' },
        { alertname: 'TrainingStalled', severity: 'critical' },
        { alertname: 'AddedLater', severity: 'warning' },
      ]);
      expect(states).toEqual({
        'GpuXidError ip-10-1-0-1': 'active',
        'DiskNearlyFull ip-10-1-0-1': 'suppressed',
        'DiskNearlyFull ip-10-1-0-2': 'active',
        'TrainingStalled -': 'active',
        // A cluster-wide critical alert has no node, so it must not mute alerts without a node either.
        'AddedLater -': 'active',
      });
    } finally {
      alertmanager.stop();
    }
  });
});

describe('custom options', () => {
  test('pass amtool check-config and appear in the configuration', async () => {
    expect(await checks.custom).toMatchObject({ code: 0 });
    const config = fs.readFileSync(customConfig, 'utf8');
    expect(config).toContain('group_by: ["alertname", "Hostname"]');
    expect(config).toContain('group_wait: "10s"');
    expect(config).toContain('group_interval: "2m"');
    expect(config).toContain('repeat_interval: "1h"');
    expect(config).toMatch(/- name: "critical"\n.*\n.*topic_arn: ".*:training-alerts"/);
    expect(config).toMatch(/- name: "warning"\n.*\n.*topic_arn: ".*:training-tickets"/);
    expect(config).toMatch(/- name: "heartbeat"\n.*\n.*topic_arn: ".*:training-heartbeat"/);
    expect(config).toContain('repeat_interval: "2m"');
  });

  test('CDK tokens pass through unchecked, for CloudFormation to resolve', () => {
    const topicArn = Token.asString({ Ref: 'AlertTopic' });
    const region = Token.asString({ Ref: 'AWS::Region' });
    const definition = renderAlertmanagerDefinition({ topicArn, region });
    expect(definition).toContain(`topic_arn: "${topicArn}"`);
    expect(definition).toContain(`region: "${region}"`);
  });
});

describe('validation', () => {
  test.each<[string, Partial<AlertmanagerDefinitionOptions>, RegExp]>([
    ['a topic ARN that is not one', { topicArn: 'training-alerts' },
      /^topicArn must be an SNS topic ARN \(arn:aws:sns:<region>:<account>:<name>\), got "training-alerts"$/],
    ['a FIFO topic', { topicArn: `${TOPIC}.fifo` }, /^topicArn must be a Standard SNS topic/],
    ['a topic in another region', { region: 'eu-west-1' }, /^topicArn must be a topic in region eu-west-1 \(the SigV4 region\), got arn:aws:sns:us-east-1:/],
    ['a bad warning topic', { warningTopicArn: 'arn:aws:sqs:us-east-1:123456789012:q' }, /^warningTopicArn must be an SNS topic ARN/],
    ['a region that is not one', { region: 'US East' }, /^region must be an AWS Region such as us-east-1, got "US East"$/],
    ['a repeat interval beyond AMP\'s 5 days', { repeatInterval: Duration.days(6) },
      /^repeatInterval must be a duration of whole seconds from 60s to 5 days, got 6 days$/],
    ['fractional seconds', { groupWait: Duration.millis(500) }, /^groupWait must be a duration of whole seconds/],
    ['an invalid label', { groupBy: ['host-name'] }, /^groupBy must be a list of label names, or \['\.\.\.'\] alone, got \["host-name"\]$/],
    ['"..." with other labels', { groupBy: ['...', 'alertname'] }, /^groupBy must be a list of label names, or \['\.\.\.'\] alone/],
  ])('refuses %s', (_, override, message) => {
    expect(() => renderAlertmanagerDefinition({ ...OPTIONS, ...override })).toThrow(message);
  });

  test('accepts ["..."] (no batching)', () => {
    expect(renderAlertmanagerDefinition({ ...OPTIONS, groupBy: ['...'] })).toContain('group_by: ["..."]');
  });
});

interface RunningAlertmanager { readonly url: string; stop(): void }

async function startAlertmanager(configFile: string): Promise<RunningAlertmanager> {
  const port = await freePort();
  const child: ChildProcess = spawn('prometheus-alertmanager', [
    `--config.file=${configFile}`, `--storage.path=${path.join(workDir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address=',
  ], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  const stop = () => { child.kill(); };
  for (let attempt = 0; attempt < 100; attempt++) {
    if (await fetch(`${url}/-/ready`).then((r) => r.ok, () => false)) return { url, stop };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  stop();
  throw new Error('Alertmanager did not become ready within 5 s');
}

/** Posts alerts and returns each one's state, keyed by `alertname Hostname`. */
async function postAndRead(url: string, alerts: Record<string, string>[]): Promise<Record<string, string>> {
  const posted = await fetch(`${url}/api/v2/alerts`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(alerts.map((labels) => ({ labels }))),
  });
  expect(posted.status).toBe(200);
  const read = await (await fetch(`${url}/api/v2/alerts`)).json() as
    { labels: Record<string, string>; status: { state: string } }[];
  return Object.fromEntries(read.map((a) => [`${a.labels.alertname} ${a.labels.Hostname ?? '-'}`, a.status.state]));
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
