import { ArnFormat, Aws, Duration, Names, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as aps from 'aws-cdk-lib/aws-aps';
import * as chatbot from 'aws-cdk-lib/aws-chatbot';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as grafana from 'aws-cdk-lib/aws-grafana';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { ClusterObservabilitySettings, IClusterObservability } from '../cluster/cluster-observability';
import { IHyperPodCluster } from '../cluster/hyperpod-cluster';
import { stackUniqueSuffix } from '../cluster/stack-unique-suffix';
import { collectConfigurationErrors, ConfigurationError, reportError } from '../core/configuration-error';
import { allowCloudWatchLogs, restrictGrantsToAwsServices } from '../core/key-policy';
import { requireIntegerInRange, requireMatch } from '../core/validation';
import { LustreStorage } from '../storage/lustre-storage';
import { AlertThresholds, renderAlertRules } from './alert-rules';
import { AlertTopic } from './alert-topic';
import { renderAlertmanagerDefinition } from './alertmanager-definition';
import { GrafanaDashboards } from './grafana-dashboards';

/** How users sign in to Managed Grafana. */
export enum GrafanaAuthentication {
  /** IAM Identity Center (must be enabled in the account or organization). */
  AWS_SSO = 'AWS_SSO',
  /** A SAML identity provider, configured on the workspace after creation. */
  SAML = 'SAML',
}

/** End states of a Slurm job. */
export enum SlurmJobState {
  /** Ended with exit code 0. */
  COMPLETED = 'COMPLETED',
  /** Ended with a non-zero exit code. */
  FAILED = 'FAILED',
  /** Reached its time limit. */
  TIMEOUT = 'TIMEOUT',
  /** One of its nodes failed. */
  NODE_FAIL = 'NODE_FAIL',
  /** Ran out of host memory. */
  OUT_OF_MEMORY = 'OUT_OF_MEMORY',
  /** Cancelled by a user or an administrator. */
  CANCELLED = 'CANCELLED',
  /** Preempted by a higher-priority job. */
  PREEMPTED = 'PREEMPTED',
  /** Its nodes failed to start. */
  BOOT_FAIL = 'BOOT_FAIL',
  /** Reached its deadline. */
  DEADLINE = 'DEADLINE',
}

/** Every end state but COMPLETED: the jobs someone must look at. */
export const FAILED_JOB_STATES = Object.values(SlurmJobState).filter((s) => s !== SlurmJobState.COMPLETED);

/**
 * Container images of the exporters and the collector on the nodes. The defaults are the images HyperPod
 * publishes in its own regional ECR registry (`602401143452.dkr.ecr.<region>.amazonaws.com/hyperpod/…`,
 * awslabs/awsome-distributed-ai observability scripts), pulled through the `ecr.api`/`ecr.dkr` endpoints: a
 * private cluster without NAT comes up with its monitoring. Some opt-in Regions host them in another account
 * (e.g. 296578399912 in ap-southeast-3): set the images there. A public registry (quay.io, nvcr.io,
 * public.ecr.aws) works only with internet egress.
 */
export interface ExporterImages {
  /**
   * The OpenTelemetry collector that scrapes the exporters and remote-writes to Prometheus.
   * @default - HyperPod's `hyperpod/otel_collector:v1754424030352`
   */
  readonly collector?: string;
  /**
   * Prometheus node exporter (CPU, memory, disks, network; EFA counters through its textfile collector).
   * @default - HyperPod's `hyperpod/node_exporter:v1.9.1`
   */
  readonly nodeExporter?: string;
  /**
   * NVIDIA DCGM exporter (GPU health and activity), on GPU nodes.
   * @default - HyperPod's `hyperpod/dcgm_exporter:4.1.1-4.0.4-ubi9`
   */
  readonly dcgmExporter?: string;
}

/** Which finished Slurm jobs are announced on the alert topic. */
export interface JobNotificationOptions {
  /**
   * End states that are announced.
   * @default FAILED_JOB_STATES
   */
  readonly states?: SlurmJobState[];
  /**
   * Only jobs that ran at least this long.
   * @default - every job
   */
  readonly minimumElapsed?: Duration;
}

/** Slack delivery through AWS Chatbot (the workspace must be authorized in the Chatbot console first). */
export interface SlackOptions {
  /** Slack workspace (team) ID, e.g. `T0123ABCD`. */
  readonly workspaceId: string;
  /** Slack channel ID, e.g. `C0123ABCD`. */
  readonly channelId: string;
}

export interface TrainingObservabilityProps {
  /**
   * Thresholds and durations of the alert rules.
   * @default DEFAULT_ALERT_THRESHOLDS
   */
  readonly alertThresholds?: AlertThresholds;
  /**
   * Where docs/observability-alerts.md is published; alerts link to its sections.
   * @default - the path in this package
   */
  readonly runbookUrl?: string;
  /**
   * Email addresses subscribed to the alert topic.
   * @default - none
   */
  readonly alertEmails?: string[];
  /**
   * Send alerts to Slack through AWS Chatbot.
   * @default - no Slack delivery
   */
  readonly slack?: SlackOptions;
  /**
   * Announce finished Slurm jobs on the alert topic (published by the controller).
   * @default - failed jobs, whatever their length
   */
  readonly jobNotifications?: JobNotificationOptions;
  /**
   * Create a Managed Grafana workspace with the dashboards.
   * @default true
   */
  readonly grafana?: boolean;
  /**
   * How users sign in to Grafana.
   * @default GrafanaAuthentication.AWS_SSO
   */
  readonly grafanaAuthentication?: GrafanaAuthentication;
  /**
   * Images of the exporters and the collector on the nodes. The defaults are pinned images in HyperPod's regional
   * ECR registry, which a cluster without NAT pulls through the ecr.api/ecr.dkr endpoints.
   * @default - see ExporterImages
   */
  readonly exporterImages?: ExporterImages;
  /**
   * Seconds between scrapes on the nodes.
   * @default 15
   */
  readonly scrapeIntervalSeconds?: number;
  /**
   * Alarm when the file system's free capacity falls below this share of its size, percent.
   * @default 10
   */
  readonly fsxFreeCapacityAlarmPercent?: number;
  /**
   * Key for the workspace, the topic and the logs.
   * @default - a new key with rotation
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * What happens to the Prometheus workspace (its metrics), its log group and the key when the stack lets go
   * of them.
   * @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE (CloudFormation `RetainExceptOnCreate`: a failed first
   * create cleans up, later deletes keep the data)
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** The account of HyperPod's regional ECR registry for its exporter images. */
export const HYPERPOD_ECR_ACCOUNT = '602401143452';

/** The pinned images HyperPod publishes, in the stack's Region. */
function defaultImages(): Required<ExporterImages> {
  const registry = `${HYPERPOD_ECR_ACCOUNT}.dkr.ecr.${Aws.REGION}.${Aws.URL_SUFFIX}/hyperpod`;
  return {
    collector: `${registry}/otel_collector:v1754424030352`,
    nodeExporter: `${registry}/node_exporter:v1.9.1`,
    dcgmExporter: `${registry}/dcgm_exporter:4.1.1-4.0.4-ubi9`,
  };
}

/**
 * `<account>.dkr.ecr.<region>.<suffix>/<repository>[:tag|@digest]` → account, region, repository. Region and
 * suffix may be unresolved tokens (`${Token[AWS.Region.12]}`, which contain dots).
 */
const ECR_IMAGE = /^([0-9]{12})\.dkr\.ecr(?:-fips)?\.(\$\{Token\[[^\]]+\]\}|[a-z0-9-]+)\.(?:\$\{Token\[[^\]]+\]\}|[a-z.]+)\/([^:@]+)/;

/**
 * The detail types HyperPod sends to EventBridge. "SageMaker HyperPod Cluster Event" exists only for
 * clusters with continuous provisioning (HyperPod cluster events reference); the rule lists it anyway, and
 * it simply never matches on other clusters.
 */
export const HYPERPOD_EVENT_DETAIL_TYPES = [
  'SageMaker HyperPod Cluster State Change',
  'SageMaker HyperPod Cluster Node Health Event',
  'SageMaker HyperPod Cluster Event',
];

/** How often Alertmanager repeats the Watchdog to the heartbeat topic. */
const HEARTBEAT_INTERVAL = Duration.minutes(5);

/**
 * Monitoring for a training cluster: an Amazon Managed Service for Prometheus workspace fed by exporters on
 * every node, alert rules (GPU health, EFA, nodes, disks, training stalls, stragglers) that page through an
 * encrypted SNS topic (email, Slack), HyperPod events and finished Slurm jobs on the same topic, an FSx
 * capacity alarm, and a Managed Grafana workspace with the dashboards. Pass it to `HyperPodCluster` as
 * `observability` and the nodes are wired in.
 */
export class TrainingObservability extends Construct implements IClusterObservability {
  public readonly workspace: aps.CfnWorkspace;
  /** `…/workspaces/ws-…/api/v1/remote_write`. */
  public readonly remoteWriteUrl: string;
  public readonly rules: aps.CfnRuleGroupsNamespace;
  public readonly alertTopic: AlertTopic;
  /**
   * Receives the always-firing Watchdog alert every 5 minutes; the heartbeat alarm pages on the alert topic
   * when it stops, which proves rules, workspace, Alertmanager and SNS end to end.
   */
  public readonly heartbeatTopic: AlertTopic;
  /** In ALARM when no Watchdog reached `heartbeatTopic` for 20 minutes (missing data counts as none). */
  public readonly heartbeatAlarm: cloudwatch.Alarm;
  public readonly encryptionKey: kms.IKey;
  /** The Grafana workspace, when `grafana` is on. */
  public readonly grafanaWorkspace?: grafana.CfnWorkspace;
  private readonly props: TrainingObservabilityProps;

  constructor(scope: Construct, id: string, props: TrainingObservabilityProps = {}) {
    super(scope, id);
    // Every mistake at once, recorded on the tree: `cdk synth` lists them all and writes no template.
    collectConfigurationErrors(this, () => validateProps(this, props));
    this.props = props;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE;
    this.encryptionKey = props.encryptionKey ?? new kms.Key(this, 'Key', {
      enableKeyRotation: true,
      description: `${this.node.path}: Prometheus workspace, alert topic and logs`,
      removalPolicy,
    });
    restrictGrantsToAwsServices(this.encryptionKey);
    this.alertTopic = new AlertTopic(this, 'AlertTopic', { encryptionKey: this.encryptionKey });
    this.heartbeatTopic = new AlertTopic(this, 'HeartbeatTopic', { encryptionKey: this.encryptionKey });
    this.workspace = this.createWorkspace(removalPolicy);
    this.alertTopic.allowPrometheusAlerts(this.workspace.attrArn);
    this.heartbeatTopic.allowPrometheusAlerts(this.workspace.attrArn);
    this.heartbeatAlarm = this.createHeartbeatAlarm();
    this.remoteWriteUrl = `${this.workspace.attrPrometheusEndpoint}api/v1/remote_write`;
    this.rules = new aps.CfnRuleGroupsNamespace(this, 'Rules', {
      name: 'training-alerts',
      workspace: this.workspace.attrArn,
      data: wrapped(this, 'alertThresholds', () => renderAlertRules(props.alertThresholds, { runbookUrl: props.runbookUrl })),
    });
    this.subscribe(props);
    if (props.grafana ?? true) this.grafanaWorkspace = this.createGrafana(props);
  }

  public nodeSettings(): ClusterObservabilitySettings {
    const job = this.props.jobNotifications ?? {};
    return {
      observability: {
        remoteWriteUrl: this.remoteWriteUrl,
        region: Stack.of(this).region,
        scrapeIntervalSeconds: this.props.scrapeIntervalSeconds ?? 15,
        images: this.exporterImages(),
      },
      jobNotifications: {
        topicArn: this.alertTopic.topicArn,
        region: Stack.of(this).region,
        states: job.states ?? FAILED_JOB_STATES,
        minimumElapsedMinutes: job.minimumElapsed?.toMinutes() ?? 0,
      },
    };
  }

  /** The images the nodes run: the defaults with the ones given in props. */
  public exporterImages(): Required<ExporterImages> {
    return { ...defaultImages(), ...this.props.exporterImages };
  }

  /**
   * Remote write and image pulls from every node, job events from the controller, HyperPod events to the
   * topic.
   */
  public monitor(cluster: IHyperPodCluster): void {
    const remoteWrite = new iam.PolicyStatement({
      sid: 'PrometheusRemoteWrite',
      actions: ['aps:RemoteWrite'],
      resources: [this.workspace.attrArn],
    });
    for (const role of new Set([cluster.executionRole, cluster.controllerRole])) {
      role.addToPrincipalPolicy(remoteWrite);
      this.grantImagePull(role);
    }
    this.alertTopic.grantPublishTo(cluster.controllerRole);
    // ClusterArn ends in the cluster ID, but the documented sample events name the cluster in `resources`
    // (`…:cluster/<name>`, HyperPod cluster events reference): match either form.
    const nameArn = Stack.of(this).formatArn({
      service: 'sagemaker', resource: 'cluster', resourceName: cluster.clusterName, arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
    new events.Rule(this, `${cluster.node.id}Events`, {
      description: `HyperPod events of ${cluster.node.path}`,
      eventPattern: { source: ['aws.sagemaker'], detailType: HYPERPOD_EVENT_DETAIL_TYPES, resources: [cluster.clusterArn, nameArn] },
      targets: [new targets.SnsTopic(this.alertTopic)],
    });
  }

  /** Pull the exporter images that live in ECR (private registries need a token and pull rights). */
  private grantImagePull(role: iam.IRole): void {
    const repositories = Object.values(this.exporterImages()).flatMap((image) => {
      const match = ECR_IMAGE.exec(image);
      return match ? [Stack.of(this).formatArn({
        service: 'ecr', account: match[1], region: match[2], resource: 'repository', resourceName: match[3],
      })] : [];
    });
    if (repositories.length === 0) return;
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'PullExporterImages',
      actions: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
      resources: [...new Set(repositories)],
    }));
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'EcrAuthorizationToken',
      actions: ['ecr:GetAuthorizationToken'],
      resources: ['*'],
    }));
    const policy = role.node.tryFindChild('DefaultPolicy');
    if (policy) {
      Validations.of(policy).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'ecr:GetAuthorizationToken accepts only "*" (the token is for the registry, pulls are scoped to the exporter repositories).',
      });
    }
  }

  /**
   * Alarm on the alert topic when the file system's free capacity is low. `FreeDataStorageCapacity` has one
   * datapoint per storage target: `Sum` over one minute is the whole file system's free bytes (`Minimum` would
   * be the fullest target; FSx for Lustre metrics reference).
   */
  public monitorStorage(storage: LustreStorage): cloudwatch.Alarm {
    const percent = this.props.fsxFreeCapacityAlarmPercent ?? 10;
    const alarm = new cloudwatch.Alarm(this, `${storage.node.id}FreeCapacity`, {
      alarmDescription: `${storage.node.path}: less than ${percent}% of ${storage.storageCapacityGiB} GiB free`,
      metric: new cloudwatch.Metric({
        namespace: 'AWS/FSx',
        metricName: 'FreeDataStorageCapacity',
        dimensionsMap: { FileSystemId: storage.fileSystemId },
        statistic: 'Sum',
        period: Duration.minutes(1),
      }),
      threshold: storage.storageCapacityGiB * 1024 ** 3 * (percent / 100),
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
      treatMissingData: cloudwatch.TreatMissingData.IGNORE,
    });
    alarm.addAlarmAction(new cwActions.SnsAction(this.alertTopic));
    this.alertTopic.allowCloudWatchAlarm(alarm.alarmArn);
    return alarm;
  }

  /**
   * The dead man's switch: SNS counts every message published to a topic, subscribers or not
   * (NumberOfMessagesPublished, Amazon SNS CloudWatch metrics), so fewer than one Watchdog in two periods of
   * twice its interval means the alerting path is broken. Missing data is breaching: a topic that never
   * received anything is as broken as one that stopped.
   */
  private createHeartbeatAlarm(): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, 'HeartbeatMissing', {
      alarmDescription: `${this.node.path}: no Watchdog alert reached the heartbeat topic for `
        + `${HEARTBEAT_INTERVAL.toMinutes() * 4} minutes: Prometheus rules, Alertmanager or SNS are broken, no alert would page`,
      metric: this.heartbeatTopic.metricNumberOfMessagesPublished({
        statistic: 'Sum', period: Duration.minutes(HEARTBEAT_INTERVAL.toMinutes() * 2),
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 2,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    alarm.addAlarmAction(new cwActions.SnsAction(this.alertTopic));
    alarm.addOkAction(new cwActions.SnsAction(this.alertTopic));
    this.alertTopic.allowCloudWatchAlarm(alarm.alarmArn);
    return alarm;
  }

  private createWorkspace(removalPolicy: RemovalPolicy): aps.CfnWorkspace {
    const logGroup = new logs.LogGroup(this, 'WorkspaceLogs', {
      // Vended-logs prefix, and unique per stack (its UUID): a retained group never blocks a later stack.
      logGroupName: `/aws/vendedlogs/prometheus/${Names.uniqueResourceName(this, { maxLength: 64 })}-${stackUniqueSuffix()}`,
      retention: logs.RetentionDays.ONE_YEAR,
      encryptionKey: this.encryptionKey,
      removalPolicy,
    });
    allowCloudWatchLogs(this.encryptionKey); // the workspace's log group is encrypted with it
    const workspace = new aps.CfnWorkspace(this, 'Workspace', {
      alias: this.node.path.replace(/\//g, '-').slice(0, 100),
      kmsKeyArn: this.encryptionKey.keyArn,
      loggingConfiguration: { logGroupArn: `${logGroup.logGroupArn}` },
      alertManagerDefinition: renderAlertmanagerDefinition({
        topicArn: this.alertTopic.topicArn, heartbeatTopicArn: this.heartbeatTopic.topicArn,
        heartbeatInterval: HEARTBEAT_INTERVAL, region: Stack.of(this).region,
      }),
    });
    workspace.applyRemovalPolicy(removalPolicy);
    workspace.node.addDependency(logGroup);
    return workspace;
  }

  private subscribe(props: TrainingObservabilityProps): void {
    for (const email of props.alertEmails ?? []) {
      this.alertTopic.addSubscription(new subscriptions.EmailSubscription(email));
    }
    if (props.slack) {
      new chatbot.SlackChannelConfiguration(this, 'Slack', {
        // Unique per account: the stack's UUID (36 characters) keeps two stacks' configurations apart.
        slackChannelConfigurationName: `${this.node.path.replace(/[^A-Za-z0-9-_]/g, '-').slice(0, 91)}-${stackUniqueSuffix()}`,
        slackWorkspaceId: props.slack.workspaceId,
        slackChannelId: props.slack.channelId,
        notificationTopics: [this.alertTopic],
        loggingLevel: chatbot.LoggingLevel.ERROR,
        guardrailPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('ReadOnlyAccess')],
      });
    }
  }

  private createGrafana(props: TrainingObservabilityProps): grafana.CfnWorkspace {
    const role = new iam.Role(this, 'GrafanaRole', {
      assumedBy: new iam.ServicePrincipal('grafana.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
      description: `${this.node.path}: Grafana reads this Prometheus workspace only`,
    });
    role.addToPolicy(new iam.PolicyStatement({
      sid: 'QueryPrometheus',
      actions: ['aps:QueryMetrics', 'aps:GetLabels', 'aps:GetSeries', 'aps:GetMetricMetadata'],
      resources: [this.workspace.attrArn],
    }));
    this.encryptionKey.grantDecrypt(role);
    const workspace = new grafana.CfnWorkspace(this, 'Grafana', {
      accountAccessType: 'CURRENT_ACCOUNT',
      authenticationProviders: [props.grafanaAuthentication ?? GrafanaAuthentication.AWS_SSO],
      permissionType: 'CUSTOMER_MANAGED',
      roleArn: role.roleArn,
      dataSources: ['PROMETHEUS'],
      grafanaVersion: '10.4',
      description: `${this.node.path}: training dashboards`,
    });
    new GrafanaDashboards(this, 'Dashboards', {
      workspaceId: workspace.attrId,
      grafanaEndpoint: `https://${workspace.attrEndpoint}`,
      prometheusUrl: this.workspace.attrPrometheusEndpoint,
    });
    return workspace;
  }
}

/** The rules renderer throws plain errors that start with the field name; give them the construct path. */
function wrapped(scope: Construct, field: string, render: () => string): string {
  try {
    return render();
  } catch (e) {
    const [name, ...problem] = (e as Error).message.split(' ');
    throw new ConfigurationError(scope, `${field}.${name}`, problem.join(' '));
  }
}

function validateProps(scope: Construct, props: TrainingObservabilityProps): void {
  if (props.scrapeIntervalSeconds !== undefined) {
    requireIntegerInRange(scope, 'scrapeIntervalSeconds', props.scrapeIntervalSeconds, 5, 300);
  }
  if (props.fsxFreeCapacityAlarmPercent !== undefined) {
    requireIntegerInRange(scope, 'fsxFreeCapacityAlarmPercent', props.fsxFreeCapacityAlarmPercent, 1, 90);
  }
  for (const [i, email] of (props.alertEmails ?? []).entries()) {
    requireMatch(scope, `alertEmails[${i}]`, email, /^[^@\s]+@[^@\s]+\.[^@\s]+$/, 'an email address');
  }
  if (props.slack) {
    requireMatch(scope, 'slack.workspaceId', props.slack.workspaceId, /^[A-Z0-9]{9,}$/, "a Slack workspace ID such as 'T0123ABCD'");
    requireMatch(scope, 'slack.channelId', props.slack.channelId, /^[A-Z0-9]{9,}$/, "a Slack channel ID such as 'C0123ABCD'");
  }
  if (props.jobNotifications?.states?.length === 0) {
    reportError(scope, 'jobNotifications.states', `must name at least one of ${Object.values(SlurmJobState).join(', ')}, got []`);
  }
}
