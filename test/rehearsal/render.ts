/*
 * Writes what the constructs would ship for the rehearsal cluster into DIR (argument 1), with the deploy-time values
 * a real deployment resolves filled in by rehearsal ones:
 *   cluster-settings.json  the lifecycle settings of the reference stack (the smoke profile, 3 GPU nodes)
 *   groups.json            its instance groups: name, Slurm node type, count (the slurm.conf layout)
 *   rules.yaml             renderAlertRules() with the durations the scenario needs shortened (typed props)
 *   alertmanager.yml       renderAlertmanagerDefinition()'s route tree with webhook receivers (see below)
 *   pretrain-swallow-70b.sbatch  the Megatron-LM launch the swallow-70b profile ships
 * Argument 2: the URL of the webhook that records what Alertmanager sends.
 */
import * as fs from 'fs';
import * as path from 'path';
import { App, Duration } from 'aws-cdk-lib';
import { SMOKE, SWALLOW_70B_PLAN } from '../../lib/platform/profiles';
import { TrainingPlatformStack } from '../../lib/platform/training-platform-stack';
import { renderAlertRules } from '../../lib/observability/alert-rules';
import { renderAlertmanagerDefinition } from '../../lib/observability/alertmanager-definition';
import { renderMegatronSbatch } from './megatron-sbatch';

const REGION = 'us-east-1';
const TOPIC_ARN = `arn:aws:sns:${REGION}:111122223333:rehearsal-alerts`;
const HYPERPOD_ECR = `602401143452.dkr.ecr.${REGION}.amazonaws.com`;
/** What CloudFormation would resolve; any other token in the settings fails the rehearsal. */
const DEPLOY_VALUES: Record<string, string> = {
  'region': REGION,
  'fsx.dnsName': `fs-0123456789abcdef0.fsx.${REGION}.amazonaws.com`,
  'fsx.mountName': 'rehearsal',
  'fsx.dataRepositories[0].s3Uri': 's3://rehearsal-datasets/datasets/',
  'fsx.dataRepositories[1].s3Uri': 's3://rehearsal-checkpoints/checkpoints/',
  'observability.remoteWriteUrl': `https://aps-workspaces.${REGION}.amazonaws.com/workspaces/ws-rehearsal/api/v1/remote_write`,
  'observability.region': REGION,
  'observability.images.collector': `${HYPERPOD_ECR}/hyperpod/otel_collector:rehearsal`,
  'observability.images.nodeExporter': `${HYPERPOD_ECR}/hyperpod/node_exporter:rehearsal`,
  'observability.images.dcgmExporter': `${HYPERPOD_ECR}/hyperpod/dcgm_exporter:rehearsal`,
  'jobNotifications.topicArn': TOPIC_ARN,
  'jobNotifications.region': REGION,
};

function main(dir: string, webhook: string): void {
  const app = new App();
  // As bin/app.ts names the smoke profile's stack, so that the cluster name (hyperpod-smoke-Cluster) is the one a
  // deployment of the reference app gets. Three GPU nodes rather than the profile's two: the straggler rules
  // compare a node with the best quartile of its job's nodes, which three nodes keep apart from the slow one.
  const stack = new TrainingPlatformStack(app, 'TrainingPlatform', {
    stackName: `hyperpod-${SMOKE.name}`, profile: { ...SMOKE, computeNodeCount: 3 }, availabilityZoneId: 'use1-az6',
  });
  const scripts = stack.cluster.lifecycleScripts as unknown as { settingsJson: string };
  const settings = fillTokens(JSON.parse(scripts.settingsJson), '') as { instanceGroups: Record<string, string> };
  write(dir, 'cluster-settings.json', JSON.stringify(settings, null, 2));
  const groups = stack.cluster.resource.instanceGroups as Array<{ instanceGroupName: string; instanceCount: number }>;
  write(dir, 'groups.json', JSON.stringify(groups.map((g) => ({
    name: g.instanceGroupName, nodeType: settings.instanceGroups[g.instanceGroupName],
    count: g.instanceCount,
  }))));

  write(dir, 'rules.yaml', renderAlertRules({
    // The shortest the typed props allow, so that the scenario runs in minutes, not hours.
    signalWindow: Duration.seconds(30),
    stragglerFor: Duration.seconds(60),
    // A job is judged once it has held its GPUs this long: the scenario's job starts with the rehearsal.
    stragglerWarmup: Duration.seconds(10),
    trainingStallFor: Duration.seconds(60),
    trainingStallLookback: Duration.seconds(150),
  }));
  write(dir, 'alertmanager.yml', localAlertmanager(renderAlertmanagerDefinition({
    topicArn: TOPIC_ARN, region: REGION,
    groupWait: Duration.seconds(1), groupInterval: Duration.seconds(1), repeatInterval: Duration.minutes(1),
  }), webhook));
  write(dir, 'pretrain-swallow-70b.sbatch',
    renderMegatronSbatch(SWALLOW_70B_PLAN, { runName: 'swallow-70b', partition: stack.cluster.partitions[0] }));
}

/** Replaces each CloudFormation intrinsic (an object with one Ref or Fn:: key) by its DEPLOY_VALUES entry. */
function fillTokens(value: unknown, at: string): unknown {
  if (Array.isArray(value)) return value.map((v, i) => fillTokens(v, `${at}[${i}]`));
  if (value === null || typeof value !== 'object') return value;
  const keys = Object.keys(value);
  if (keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::'))) {
    const filled = DEPLOY_VALUES[at];
    if (filled === undefined) throw new Error(`cluster settings: ${at} is a deploy-time value with no rehearsal value`);
    return filled;
  }
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fillTokens(v, at ? `${at}.${k}` : k)]));
}

/**
 * AMP's definition with each SNS receiver replaced by a webhook receiver of the same name that posts to the
 * recorder (no SNS here). The route tree and inhibit rules are the rendered ones, unchanged.
 */
function localAlertmanager(definition: string, webhook: string): string {
  const lines = definition.split('\n');
  if (lines[0] !== 'alertmanager_config: |') throw new Error(`unexpected AMP definition: ${lines[0]}`);
  const config = lines.slice(1).map((l) => l.replace(/^ {2}/, ''));
  const receiversAt = config.indexOf('receivers:');
  if (receiversAt < 0) throw new Error('the AMP definition has no receivers');
  const names = config.slice(receiversAt).flatMap((l) => /^ {2}- name: (".*")$/.exec(l)?.[1] ?? []);
  if (!config.slice(receiversAt).some((l) => l.includes('sns_configs:'))) throw new Error('expected SNS receivers');
  return [
    ...config.slice(0, receiversAt),
    'receivers:',
    ...names.flatMap((name) => [`  - name: ${name}`, '    webhook_configs:',
      `      - url: ${JSON.stringify(`${webhook}/${JSON.parse(name)}`)}`, '        send_resolved: true']),
    '',
  ].join('\n');
}

function write(dir: string, file: string, content: string): void {
  fs.writeFileSync(path.join(dir, file), content.endsWith('\n') ? content : `${content}\n`);
}

main(process.argv[2], process.argv[3]);
