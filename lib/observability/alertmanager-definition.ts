import { Duration, Token } from 'aws-cdk-lib';
import { prometheusDuration } from './alert-rules';

/** Where and how Amazon Managed Service for Prometheus sends the training alerts. */
export interface AlertmanagerDefinitionOptions {
  /**
   * The SNS topic that receives critical alerts, and warnings unless `warningTopicArn` is set.
   * A Standard topic whose policy lets `aps.amazonaws.com` call `sns:Publish` and `sns:GetTopicAttributes`.
   */
  readonly topicArn: string;
  /** Region of the topic(s), for the SigV4 signature (AMP requires it). */
  readonly region: string;
  /**
   * A separate topic for warnings (e.g. a ticket queue rather than a pager).
   * @default topicArn
   */
  readonly warningTopicArn?: string;
  /**
   * Labels that batch alerts into one notification. `...` means every label (no batching).
   * @default ['alertname'] (one notification lists every node with the same problem)
   */
  readonly groupBy?: string[];
  /**
   * How long to wait for more alerts of a new group before notifying.
   * @default Duration.seconds(30)
   */
  readonly groupWait?: Duration;
  /**
   * How long to wait before notifying about alerts added to a group already notified.
   * @default Duration.minutes(5)
   */
  readonly groupInterval?: Duration;
  /**
   * How long to wait before repeating a notification for an alert still firing. AMP treats
   * anything above 5 days as 5 days, so longer values are refused.
   * @default Duration.hours(4)
   */
  readonly repeatInterval?: Duration;
  /**
   * The topic that receives the always-firing Watchdog alert, repeated every `heartbeatInterval`: something
   * downstream (e.g. a CloudWatch alarm on the topic's NumberOfMessagesPublished, missing data breaching) pages
   * when it stops, which proves rules, workspace, Alertmanager and SNS end to end.
   * @default - the Watchdog goes to a receiver without destinations (dropped), never to the alert topics
   */
  readonly heartbeatTopicArn?: string;
  /**
   * How often the Watchdog is sent to `heartbeatTopicArn`.
   * @default Duration.minutes(5)
   */
  readonly heartbeatInterval?: Duration;
}

/** AMP's ceiling on repeat_interval. */
const MAX_REPEAT_SECONDS = 5 * 86_400;
const SEVERITIES = ['critical', 'warning'] as const;
/** Subject of the SNS message: ASCII and short, as SNS truncates subjects at 100 characters. */
const SUBJECT_TEMPLATE = '[{{ .Status | toUpper }}] {{ .CommonLabels.severity }}: {{ .GroupLabels.alertname }}'
  + '{{ with .CommonLabels.Hostname }} on {{ . }}{{ end }}';

/**
 * Renders an AMP alert manager definition (`AWS::APS::Workspace` `AlertManagerDefinition`): the
 * Alertmanager configuration under an `alertmanager_config:` block, with one SNS receiver per
 * severity and an inhibit rule that mutes a node's warnings while a critical alert fires for it.
 *
 * Topic ARNs and region may be CDK tokens; they are checked only when known.
 *
 * @throws Error `<field> must be <what is allowed>, got <value>` for an option AMP would refuse.
 */
export function renderAlertmanagerDefinition(options: AlertmanagerDefinitionOptions): string {
  validateOptions(options);
  const inner = alertmanagerConfigLines(options);
  return ['alertmanager_config: |', ...inner.map((line) => `  ${line}`)].join('\n') + '\n';
}

function alertmanagerConfigLines(o: AlertmanagerDefinitionOptions): string[] {
  const q = JSON.stringify; // a JSON string is a valid YAML double-quoted scalar
  return [
    'route:',
    `  receiver: ${q('warning')}`, // anything without a known severity goes to the quieter topic
    `  group_by: [${(o.groupBy ?? ['alertname']).map((l) => q(l)).join(', ')}]`,
    `  group_wait: ${q(prometheusDuration(o.groupWait ?? Duration.seconds(30)))}`,
    `  group_interval: ${q(prometheusDuration(o.groupInterval ?? Duration.minutes(5)))}`,
    `  repeat_interval: ${q(prometheusDuration(o.repeatInterval ?? Duration.hours(4)))}`,
    '  routes:',
    // First: the heartbeat never reaches the alert topics, and repeats often enough to prove the path.
    `    - receiver: ${q('heartbeat')}`,
    `      matchers: [${q('alertname=Watchdog')}]`,
    `      group_by: [${q('alertname')}]`,
    `      group_wait: ${q('0s')}`,
    `      group_interval: ${q('1m')}`,
    `      repeat_interval: ${q(prometheusDuration(o.heartbeatInterval ?? Duration.minutes(5)))}`,
    ...SEVERITIES.flatMap((s) => [`    - receiver: ${q(s)}`, `      matchers: [${q(`severity=${s}`)}]`]),
    // Cluster-wide alerts have no Hostname; without the `=~.+` matcher they would count as "the same
    // node" as every other alert without one and mute them.
    'inhibit_rules:',
    `  - source_matchers: [${q('severity=critical')}, ${q('Hostname=~.+')}]`,
    `    target_matchers: [${q('severity=warning')}]`,
    `    equal: [${q('cluster')}, ${q('Hostname')}]`,
    'receivers:',
    ...receiverLines('critical', o.topicArn, o.region),
    ...receiverLines('warning', o.warningTopicArn ?? o.topicArn, o.region),
    ...(o.heartbeatTopicArn === undefined ? [`  - name: ${q('heartbeat')}`] : receiverLines('heartbeat', o.heartbeatTopicArn, o.region)),
  ];
}

/** The `severity` message attribute lets SNS subscriptions filter when both share one topic. */
function receiverLines(severity: string, topicArn: string, region: string): string[] {
  const q = JSON.stringify;
  return [
    `  - name: ${q(severity)}`,
    '    sns_configs:',
    `      - topic_arn: ${q(topicArn)}`,
    '        sigv4:',
    `          region: ${q(region)}`,
    `        subject: ${q(SUBJECT_TEMPLATE)}`,
    '        attributes:',
    `          severity: ${q(severity)}`,
  ];
}

function validateOptions(o: AlertmanagerDefinitionOptions): void {
  validateRegion(o.region);
  validateTopicArn('topicArn', o.topicArn, o.region);
  if (o.warningTopicArn !== undefined) validateTopicArn('warningTopicArn', o.warningTopicArn, o.region);
  if (o.heartbeatTopicArn !== undefined) validateTopicArn('heartbeatTopicArn', o.heartbeatTopicArn, o.region);
  validateDuration('heartbeatInterval', o.heartbeatInterval, 60, 86_400);
  validateGroupBy(o.groupBy);
  validateDuration('groupWait', o.groupWait, 0, MAX_REPEAT_SECONDS);
  validateDuration('groupInterval', o.groupInterval, 1, MAX_REPEAT_SECONDS);
  validateDuration('repeatInterval', o.repeatInterval, 60, MAX_REPEAT_SECONDS);
}

function validateRegion(region: string): void {
  if (Token.isUnresolved(region) || /^[a-z]{2}(-[a-z]+)+-\d+$/.test(region)) return;
  throw new Error(`region must be an AWS Region such as us-east-1, got ${JSON.stringify(region)}`);
}

function validateTopicArn(field: string, arn: string, region: string): void {
  if (Token.isUnresolved(arn)) return;
  const match = /^arn:aws[a-z-]*:sns:([a-z0-9-]+):\d{12}:([A-Za-z0-9_-]{1,256}(\.fifo)?)$/.exec(arn);
  if (!match) {
    throw new Error(`${field} must be an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>), got ${JSON.stringify(arn)}`);
  }
  if (match[3]) throw new Error(`${field} must be a Standard SNS topic (AMP cannot publish to FIFO topics), got ${arn}`);
  if (!Token.isUnresolved(region) && match[1] !== region) {
    throw new Error(`${field} must be a topic in region ${region} (the SigV4 region), got ${arn}`);
  }
}

function validateGroupBy(groupBy: string[] | undefined): void {
  if (groupBy === undefined) return;
  const labels = Array.isArray(groupBy) && groupBy.every((l) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(l));
  const all = Array.isArray(groupBy) && groupBy.length === 1 && groupBy[0] === '...';
  if (labels || all) return;
  throw new Error(`groupBy must be a list of label names, or ['...'] alone, got ${JSON.stringify(groupBy)}`);
}

function validateDuration(field: string, value: Duration | undefined, minSeconds: number, maxSeconds: number): void {
  if (value === undefined) return;
  const allowed = `a duration of whole seconds from ${minSeconds}s to ${maxSeconds / 86_400} days`;
  if (!(value instanceof Duration) || value.isUnresolved()) {
    throw new Error(`${field} must be ${allowed} known at synth time, got ${String(value)}`);
  }
  const ms = value.toMilliseconds();
  if (ms % 1000 !== 0 || ms / 1000 < minSeconds || ms / 1000 > maxSeconds) {
    throw new Error(`${field} must be ${allowed}, got ${value.toHumanString()}`);
  }
}
