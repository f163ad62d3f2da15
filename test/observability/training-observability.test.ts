import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import {
  FAILED_JOB_STATES, GrafanaAuthentication, HyperPodCluster, LustreStorage, SlurmJobState, TrainingNetwork,
  TrainingObservability, TrainingObservabilityProps,
} from '../../lib';
import { testApp, testStack } from '../util';
import { configurationProblems } from '../../lib/core/configuration-error';

interface Built { stack: Stack; observability: TrainingObservability; cluster: HyperPodCluster; storage: LustreStorage; template: Template }

function build(props: TrainingObservabilityProps = {}): Built {
  const stack = testStack();
  const network = new TrainingNetwork(stack, 'Network', { plannedNodes: [{ instanceType: 'ml.p5.48xlarge', count: 4 }] });
  const storage = new LustreStorage(stack, 'Storage', { network, storageCapacityGiB: 2400 });
  const observability = new TrainingObservability(stack, 'Observability', props);
  observability.monitorStorage(storage);
  const cluster = new HyperPodCluster(stack, 'Cluster', {
    network, storage, observability,
    controllerGroup: { instanceType: 'ml.m5.xlarge' },
    computeGroups: [{ name: 'gpu', instanceType: 'ml.p5.48xlarge', count: 2 }],
  });
  return { stack, observability, cluster, storage, template: Template.fromStack(stack) };
}

/** The template value with `Ref`s to pseudo parameters replaced and `Fn::Join`s joined; other tokens stay. */
function resolvePseudo(value: any, pseudo: Record<string, string>): any {
  if (Array.isArray(value)) return value.map((v) => resolvePseudo(v, pseudo));
  if (value && typeof value === 'object') {
    if (typeof value.Ref === 'string' && value.Ref in pseudo) return pseudo[value.Ref];
    if (value['Fn::Join']) {
      const parts = resolvePseudo(value['Fn::Join'][1], pseudo);
      return parts.every((p: unknown) => typeof p === 'string') ? parts.join(value['Fn::Join'][0]) : { 'Fn::Join': [value['Fn::Join'][0], parts] };
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolvePseudo(v, pseudo)]));
  }
  return value;
}

/**
 * EventBridge's matching for patterns of exact values (the only kind the platform writes): every pattern field is
 * in the event; a list of values matches when the event's value, or one of the event's list, is among them.
 */
function eventMatches(pattern: Record<string, any>, event: Record<string, any>): boolean {
  return Object.entries(pattern).every(([key, expected]) => {
    const actual = event[key];
    if (!Array.isArray(expected)) return actual !== undefined && typeof actual === 'object' && eventMatches(expected, actual);
    return (Array.isArray(actual) ? actual : [actual]).some((v) => expected.includes(v));
  });
}

function policyStatementsOf(stack: Stack, template: Template, role: iam.IRole): any[] {
  const policies = template.findResources('AWS::IAM::Policy', {
    Properties: { Roles: [{ Ref: stack.getLogicalId(role.node.defaultChild as iam.CfnRole) }] },
  });
  return Object.values(policies).flatMap((p) => p.Properties.PolicyDocument.Statement);
}

describe('TrainingObservability', () => {
  const { stack, observability, cluster, storage, template } = build();

  test('a KMS-encrypted Prometheus workspace with logging, RetainExceptOnCreate, its log group named per stack', () => {
    template.hasResource('AWS::APS::Workspace', {
      DeletionPolicy: 'RetainExceptOnCreate',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        KmsKeyArn: stack.resolve(observability.encryptionKey.keyArn),
        LoggingConfiguration: { LogGroupArn: Match.anyValue() },
      },
    });
    // A retained log group with a literal name would block a retry, a second stack, a redeploy after destroy.
    template.hasResource('AWS::Logs::LogGroup', {
      DeletionPolicy: 'RetainExceptOnCreate',
      Properties: {
        LogGroupName: { 'Fn::Join': ['', [Match.stringLikeRegexp('^/aws/vendedlogs/prometheus/[A-Za-z]+Observability[0-9A-F]{8}-$'),
          { 'Fn::Select': [2, { 'Fn::Split': ['/', { Ref: 'AWS::StackId' }] }] }]] },
        KmsKeyId: stack.resolve(observability.encryptionKey.keyArn),
      },
    });
    template.hasResource('AWS::KMS::Key', { DeletionPolicy: 'RetainExceptOnCreate' });
  });

  test('the rules namespace carries the rendered rules: every alert the platform promises', () => {
    const ns = Object.values(template.findResources('AWS::APS::RuleGroupsNamespace'))[0];
    expect(ns.Properties.Workspace).toEqual(stack.resolve(observability.workspace.attrArn));
    for (const alert of ['GpuXidError', 'GpuEccDoubleBitError', 'GpuRowRemapFailure', 'GpuNvlinkErrors', 'GpuThermalThrottling',
      'GpuPowerThrottling', 'GpuTemperatureHigh', 'GpuTemperatureCritical', 'EfaRdmaErrors', 'EfaUnresponsiveRemote', 'NodeDown',
      'DiskNearlyFull', 'TrainingStalled', 'StragglerHostBound']) {
      expect(ns.Properties.Data).toContain(`alert: ${alert}`);
    }
  });

  test('the alert manager routes to the SNS topic, which the workspace may publish to', () => {
    const ws = Object.values(template.findResources('AWS::APS::Workspace'))[0];
    expect(JSON.stringify(ws.Properties.AlertManagerDefinition)).toContain(stack.getLogicalId(observability.alertTopic.node.defaultChild as never));
    template.hasResourceProperties('AWS::SNS::TopicPolicy', { PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({
      Sid: 'PrometheusAlertManagerPublish',
      Principal: { Service: 'aps.amazonaws.com' },
      Action: ['sns:GetTopicAttributes', 'sns:Publish'],
      Condition: { ArnEquals: { 'aws:SourceArn': stack.resolve(observability.workspace.attrArn) }, StringEquals: Match.anyValue() },
    })]) } });
  });

  test('the topic is encrypted, TLS-only, and its key usable by the services that publish alerts', () => {
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: stack.resolve(observability.encryptionKey.keyArn) });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', { PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({
      Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    })]) } });
    template.hasResourceProperties('AWS::KMS::Key', { KeyPolicy: { Statement: Match.arrayWith([Match.objectLike({
      Sid: 'AlertPublishersEncrypt',
      Principal: { Service: ['aps.amazonaws.com', 'cloudwatch.amazonaws.com', 'events.amazonaws.com'] },
    })]) } });
  });

  test('every node may remote-write to this workspace only; only the controller may publish job events', () => {
    for (const role of [cluster.executionRole, cluster.controllerRole]) {
      expect(policyStatementsOf(stack, template, role)).toContainEqual(expect.objectContaining({
        Sid: 'PrometheusRemoteWrite', Action: 'aps:RemoteWrite', Resource: stack.resolve(observability.workspace.attrArn),
      }));
    }
    const publish = (role: iam.IRole) => policyStatementsOf(stack, template, role).filter((s) => s.Action === 'sns:Publish');
    expect(publish(cluster.controllerRole)).toEqual([expect.objectContaining({ Resource: stack.resolve(observability.alertTopic.topicArn) })]);
    expect(publish(cluster.executionRole)).toEqual([]);
  });

  test('HyperPod cluster and node events of this cluster go to the topic', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        'source': ['aws.sagemaker'],
        'detail-type': ['SageMaker HyperPod Cluster State Change', 'SageMaker HyperPod Cluster Node Health Event', 'SageMaker HyperPod Cluster Event'],
        // Either ARN form: the attribute ends in the cluster ID, the documented sample events name the cluster.
        'resources': [stack.resolve(cluster.clusterArn), { 'Fn::Join': ['', [
          'arn:', { Ref: 'AWS::Partition' }, ':sagemaker:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' },
          `:cluster/${cluster.clusterName}`]] }],
      },
      Targets: [Match.objectLike({ Arn: stack.resolve(observability.alertTopic.topicArn) })],
    });
  });

  test('the documented HyperPod sample event of this cluster matches the rule; other clusters\' and other types do not', () => {
    // The complete sample record of the HyperPod cluster events reference (docs.aws.amazon.com/sagemaker/latest/dg/
    // sagemaker-hyperpod-cluster-events-reference.html), delivered through EventBridge for cluster `sample-cluster`.
    const sample = {
      'version': '0', 'id': '0bd4a141-0a02-9d8a-f977-3924c3fb259c', 'detail-type': 'SageMaker HyperPod Cluster Event',
      'source': 'aws.sagemaker', 'account': '111122223333', 'time': '2026-06-01T17:20:25Z', 'region': 'us-west-2',
      'resources': ['arn:aws:sagemaker:us-west-2:111122223333:cluster/sample-cluster'],
      'detail': { EventDetails: {
        EventId: '83ea0bb5-be77-45e8-a458-0a87f778a205', ClusterArn: 'arn:aws:sagemaker:us-west-2:111122223333:cluster/sample-cluster',
        ClusterName: 'sample-cluster', InstanceGroupName: 'p5Inst', InstanceId: 'i-0391f86fa0fe0d465', ResourceType: 'Instance',
        EventTime: 1748794825350, EventLevel: 'Error', Description: 'Instance creation in Cluster sample-cluster and InstanceGroup p5Inst failed',
      } },
    };
    const stack = new Stack(testApp(), 'Sample', { env: { account: '111122223333', region: 'us-west-2' } });
    const network = new TrainingNetwork(stack, 'Network', { plannedNodes: [{ instanceType: 'ml.p5.48xlarge', count: 2 }] });
    const sampleObservability = new TrainingObservability(stack, 'Observability', { grafana: false });
    new HyperPodCluster(stack, 'Cluster', {
      network, observability: sampleObservability, clusterName: 'sample-cluster',
      controllerGroup: { instanceType: 'ml.m5.xlarge' },
      computeGroups: [{ name: 'gpu', instanceType: 'ml.p5.48xlarge', count: 2 }],
    });
    const pattern = resolvePseudo(Object.values(Template.fromStack(stack).findResources('AWS::Events::Rule'))[0].Properties.EventPattern,
      { 'AWS::Partition': 'aws', 'AWS::Region': 'us-west-2', 'AWS::AccountId': '111122223333' });
    expect(eventMatches(pattern, sample)).toBe(true);
    const other = JSON.parse(JSON.stringify(sample).replace(/sample-cluster/g, 'other-cluster'));
    expect(eventMatches(pattern, other)).toBe(false);
    expect(eventMatches(pattern, { ...sample, 'detail-type': 'SageMaker Training Job State Change' })).toBe(false);
  });

  test('the topic policy lets CloudWatch publish for this account\'s alarms only (FSx capacity, heartbeat)', () => {
    const policy = Object.values(template.findResources('AWS::SNS::TopicPolicy', {
      Properties: { Topics: [stack.resolve(observability.alertTopic.topicArn)] },
    }))[0].Properties.PolicyDocument.Statement;
    const alarmIds = Object.keys(template.findResources('AWS::CloudWatch::Alarm'));
    expect(alarmIds).toHaveLength(2);
    for (const alarmId of alarmIds) expect(policy).toContainEqual({
      Sid: expect.any(String),
      Effect: 'Allow',
      Principal: { Service: 'cloudwatch.amazonaws.com' },
      Action: 'sns:Publish',
      Resource: stack.resolve(observability.alertTopic.topicArn),
      Condition: {
        StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
        ArnLike: { 'aws:SourceArn': { 'Fn::GetAtt': [alarmId, 'Arn'] } },
      },
    });
  });

  test('dead man\'s switch: the Watchdog goes to its own topic every 5m, and an alarm pages when it stops', () => {
    const ws = Object.values(template.findResources('AWS::APS::Workspace'))[0];
    const definition = ws.Properties.AlertManagerDefinition['Fn::Join'][1]
      .map((part: unknown) => (typeof part === 'string' ? part : JSON.stringify(part))).join('');
    const heartbeatTopic = stack.getLogicalId(observability.heartbeatTopic.node.defaultChild as never);
    expect(definition).toMatch(/- receiver: "heartbeat"\n\s+matchers: \["alertname=Watchdog"\](\n\s+\w+: .*)*\n\s+repeat_interval: "5m"/);
    expect(definition).toMatch(new RegExp(`- name: "heartbeat"\\n\\s+sns_configs:\\n\\s+- topic_arn: "\\{"Ref":"${heartbeatTopic}"\\}"`));
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [stack.resolve(observability.heartbeatTopic.topicArn)],
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({
        Principal: { Service: 'aps.amazonaws.com' },
        Condition: Match.objectLike({ ArnEquals: { 'aws:SourceArn': stack.resolve(observability.workspace.attrArn) } }),
      })]) },
    });
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: stack.resolve(observability.encryptionKey.keyArn) });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SNS', MetricName: 'NumberOfMessagesPublished', Statistic: 'Sum', Period: 600,
      Dimensions: [{ Name: 'TopicName', Value: { 'Fn::GetAtt': [heartbeatTopic, 'TopicName'] } }],
      ComparisonOperator: 'LessThanThreshold', Threshold: 1, EvaluationPeriods: 2, TreatMissingData: 'breaching',
      AlarmActions: [stack.resolve(observability.alertTopic.topicArn)],
      OKActions: [stack.resolve(observability.alertTopic.topicArn)],
    });
  });

  test('exporter images come from HyperPod\'s regional ECR registry, pinned, and the nodes may pull them', () => {
    const images = stack.resolve(observability.exporterImages());
    const registry = ['602401143452.dkr.ecr.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }];
    expect(images).toEqual({
      collector: { 'Fn::Join': ['', [...registry, '/hyperpod/otel_collector:v1754424030352']] },
      nodeExporter: { 'Fn::Join': ['', [...registry, '/hyperpod/node_exporter:v1.9.1']] },
      dcgmExporter: { 'Fn::Join': ['', [...registry, '/hyperpod/dcgm_exporter:4.1.1-4.0.4-ubi9']] },
    });
    for (const role of [cluster.executionRole, cluster.controllerRole]) {
      const statements = policyStatementsOf(stack, template, role);
      const pull = statements.find((x) => x.Sid === 'PullExporterImages');
      expect(pull.Action).toEqual(['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer']);
      expect(pull.Resource.map((r: any) => JSON.stringify(r)).sort()).toEqual(['dcgm_exporter', 'node_exporter', 'otel_collector'].map((repo) =>
        JSON.stringify({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ecr:', { Ref: 'AWS::Region' }, `:602401143452:repository/hyperpod/${repo}`]] })));
      expect(statements).toContainEqual(expect.objectContaining({ Sid: 'EcrAuthorizationToken', Action: 'ecr:GetAuthorizationToken', Resource: '*' }));
    }
  });

  test('FSx free capacity below 10% of the whole file system (Sum over the storage targets) raises an alarm on the topic', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/FSx',
      MetricName: 'FreeDataStorageCapacity',
      Statistic: 'Sum',
      Period: 60,
      Dimensions: [{ Name: 'FileSystemId', Value: stack.resolve(storage.fileSystemId) }],
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 2400 * 1024 ** 3 * 0.1,
      AlarmActions: [stack.resolve(observability.alertTopic.topicArn)],
    });
  });

  test('the nodes learn the remote-write URL, exporter images and the job-event topic', () => {
    expect(stack.resolve(observability.nodeSettings())).toEqual({
      observability: {
        remoteWriteUrl: { 'Fn::Join': ['', [stack.resolve(observability.workspace.attrPrometheusEndpoint), 'api/v1/remote_write']] },
        region: { Ref: 'AWS::Region' },
        scrapeIntervalSeconds: 15,
        images: stack.resolve(observability.exporterImages()),
      },
      jobNotifications: {
        topicArn: stack.resolve(observability.alertTopic.topicArn),
        region: { Ref: 'AWS::Region' },
        states: FAILED_JOB_STATES,
        minimumElapsedMinutes: 0,
      },
    });
    expect(FAILED_JOB_STATES).not.toContain('COMPLETED');
  });

  test('Grafana: Identity Center, customer-managed role that only queries this workspace, dashboards provisioned', () => {
    template.hasResourceProperties('AWS::Grafana::Workspace', {
      AuthenticationProviders: ['AWS_SSO'], PermissionType: 'CUSTOMER_MANAGED', AccountAccessType: 'CURRENT_ACCOUNT',
      DataSources: ['PROMETHEUS'],
    });
    template.hasResourceProperties('AWS::IAM::Policy', { PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({
      Sid: 'QueryPrometheus',
      Action: ['aps:GetLabels', 'aps:GetMetricMetadata', 'aps:GetSeries', 'aps:QueryMetrics'],
      Resource: stack.resolve(observability.workspace.attrArn),
    })]) } });
    const dashboards = Object.values(template.findResources('Custom::GrafanaDashboards'))[0].Properties;
    expect(dashboards.Dashboards.map((d: string) => JSON.parse(d).uid).sort()).toEqual(
      ['hyperpod-efa', 'hyperpod-gpu-dcgm', 'hyperpod-nodes', 'hyperpod-training-job', 'hyperpod-training-overview']);
    expect(dashboards.PrometheusUrl).toEqual(stack.resolve(observability.workspace.attrPrometheusEndpoint));
    template.hasResourceProperties('AWS::IAM::Policy', { PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({
      Sid: 'GrafanaServiceAccountTokens',
      Resource: { 'Fn::Join': ['', Match.arrayWith([':/workspaces/', stack.resolve(observability.grafanaWorkspace!.attrId)])] },
    })]) } });
  });

  test('the dashboard handler ships as plain files, no bundling', () => {
    template.hasResourceProperties('AWS::Lambda::Function', { Handler: 'index.handler', Runtime: Match.stringLikeRegexp('^nodejs') });
  });

  test('cdk-nag: no unacknowledged findings', () => {
    const report = new AwsSolutionsChecks().validateScope(stack);
    expect(report.violations.map((v) => `${v.ruleName} ${v.violatingResources.map((r) => r.constructPath).join()}`)).toEqual([]);
  });
});

describe('a private cluster without NAT comes up with its monitoring', () => {
  const stack = testStack();
  const network = new TrainingNetwork(stack, 'Network', {
    natGateway: false, interfaceEndpoints: true, plannedNodes: [{ instanceType: 'ml.p5.48xlarge', count: 2 }],
  });
  const observability = new TrainingObservability(stack, 'Observability', { grafana: false });
  const cluster = new HyperPodCluster(stack, 'Cluster', {
    network, observability,
    controllerGroup: { instanceType: 'ml.m5.xlarge' },
    computeGroups: [{ name: 'gpu', instanceType: 'ml.p5.48xlarge', count: 2 }],
  });
  const template = Template.fromStack(stack);
  const endpoint = (service: string) => ({ 'Fn::Join': ['', ['com.amazonaws.', { Ref: 'AWS::Region' }, `.${service}`]] });

  test('no route to the internet: no NAT gateway, no internet gateway', () => {
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.resourceCountIs('AWS::EC2::InternetGateway', 0);
  });

  test('every service the nodes\' monitoring calls has an endpoint: images, token, remote write, logs', () => {
    for (const service of ['ecr.api', 'ecr.dkr', 'sts', 'aps-workspaces', 'logs', 'monitoring', 'sns']) {
      template.hasResourceProperties('AWS::EC2::VPCEndpoint', { ServiceName: endpoint(service), VpcEndpointType: 'Interface', PrivateDnsEnabled: true });
    }
    // Image layers come from S3, through the gateway endpoint.
    template.hasResourceProperties('AWS::EC2::VPCEndpoint', { ServiceName: endpoint('s3'), VpcEndpointType: 'Gateway' });
  });

  test('the exporter images are ECR images the node roles may pull', () => {
    const images = Object.values<string>(stack.resolve(observability.exporterImages())).map((i) => JSON.stringify(i));
    for (const image of images) expect(image).toContain('602401143452.dkr.ecr.');
    for (const role of [cluster.executionRole, cluster.controllerRole]) {
      const actions = policyStatementsOf(stack, template, role).flatMap((st) => [st.Action].flat());
      expect(actions).toEqual(expect.arrayContaining(['ecr:GetAuthorizationToken', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'aps:RemoteWrite']));
    }
  });
});

describe('TrainingObservability options', () => {
  test('email and Slack delivery, custom job filter, SAML, no retain', () => {
    const { template, observability, stack, cluster } = build({
      alertEmails: ['oncall@example.com'],
      slack: { workspaceId: 'T0123ABCDE', channelId: 'C0123ABCDE' },
      jobNotifications: { states: [SlurmJobState.FAILED, SlurmJobState.COMPLETED], minimumElapsed: Duration.hours(1) },
      grafanaAuthentication: GrafanaAuthentication.SAML,
      removalPolicy: RemovalPolicy.DESTROY,
      scrapeIntervalSeconds: 30,
      exporterImages: { collector: '111122223333.dkr.ecr.us-east-1.amazonaws.com/otel:1' },
    });
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@example.com' });
    template.hasResourceProperties('AWS::Chatbot::SlackChannelConfiguration', {
      // Account-wide names: two stacks (or a redeploy after destroy) never collide.
      ConfigurationName: { 'Fn::Join': ['', ['Test-Observability-', { 'Fn::Select': [2, { 'Fn::Split': ['/', { Ref: 'AWS::StackId' }] }] }]] },
      SlackWorkspaceId: 'T0123ABCDE', SlackChannelId: 'C0123ABCDE', SnsTopicArns: [stack.resolve(observability.alertTopic.topicArn)],
    });
    template.hasResourceProperties('AWS::Grafana::Workspace', { AuthenticationProviders: ['SAML'] });
    template.hasResource('AWS::APS::Workspace', { DeletionPolicy: 'Delete' });
    const settings = stack.resolve(observability.nodeSettings()) as any;
    expect(settings.jobNotifications).toMatchObject({ states: ['FAILED', 'COMPLETED'], minimumElapsedMinutes: 60 });
    expect(settings.observability.scrapeIntervalSeconds).toBe(30);
    expect(settings.observability.images.collector).toBe('111122223333.dkr.ecr.us-east-1.amazonaws.com/otel:1');
    // A mirrored image in another account's ECR gets its own pull grant.
    const pulls = policyStatementsOf(stack, template, cluster.executionRole).find((x) => x.Sid === 'PullExporterImages');
    expect(JSON.stringify(pulls.Resource)).toContain(':ecr:us-east-1:111122223333:repository/otel');
  });

  test('grafana: false creates no Grafana workspace and no provisioner', () => {
    const { template } = build({ grafana: false });
    template.resourceCountIs('AWS::Grafana::Workspace', 0);
    template.resourceCountIs('Custom::GrafanaDashboards', 0);
  });

  test('custom thresholds reach the rules', () => {
    const { template } = build({ alertThresholds: { gpuTemperatureWarningCelsius: 75 } });
    const data = Object.values(template.findResources('AWS::APS::RuleGroupsNamespace'))[0].Properties.Data;
    expect(data).toMatch(/DCGM_FI_DEV_GPU_TEMP[^\n]*> 75\b/);
  });
});

describe('TrainingObservability validation', () => {
  const cases: Array<[string, TrainingObservabilityProps, string]> = [
    ['a threshold the rules refuse', { alertThresholds: { gpuTemperatureWarningCelsius: 200 } },
      'Test/Observability: alertThresholds.gpuTemperatureWarningCelsius must be'],
    ['a scrape interval below 5 s', { scrapeIntervalSeconds: 1 },
      'Test/Observability: scrapeIntervalSeconds must be an integer from 5 to 300, got 1'],
    ['an FSx alarm percentage of 0', { fsxFreeCapacityAlarmPercent: 0 },
      'Test/Observability: fsxFreeCapacityAlarmPercent must be an integer from 1 to 90, got 0'],
    ['a malformed email', { alertEmails: ['oncall'] }, "Test/Observability: alertEmails[0] must be an email address, got 'oncall'"],
    ['a Slack channel name instead of its ID', { slack: { workspaceId: 'T0123ABCDE', channelId: '#training' } },
      "Test/Observability: slack.channelId must be a Slack channel ID such as 'C0123ABCD', got '#training'"],
    ['an empty job-state list', { jobNotifications: { states: [] } },
      'Test/Observability: jobNotifications.states must name at least one of COMPLETED, FAILED'],
  ];
  test.each(cases)('refuses %s', (_name, props, message) => {
    expect(() => build(props)).toThrow(message);
  });

  test('every mistake at once, recorded on the tree for cdk synth to list', () => {
    const stack = testStack();
    new TrainingObservability(stack, 'Observability', { scrapeIntervalSeconds: 1, alertEmails: ['oncall'], jobNotifications: { states: [] } });
    expect(configurationProblems(stack)).toEqual([
      'Test/Observability: scrapeIntervalSeconds must be an integer from 5 to 300, got 1',
      "Test/Observability: alertEmails[0] must be an email address, got 'oncall'",
      expect.stringMatching(/^Test\/Observability: jobNotifications\.states must name at least one of COMPLETED, FAILED.*, got \[\]$/),
    ]);
  });
});
