import * as fs from 'fs';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { AwsSolutionsChecks } from 'cdk-nag';
import {
  configurationProblems, DataRepositoryEvent, DeepHealthCheck, HyperPodCluster, HyperPodClusterProps, IClusterObservability,
  LIFECYCLE_SCRIPTS_DIR, LustreStorage, NodeMetricsSettings, NodeRecovery,
  SlurmConfigStrategy, TrainingNetwork,
} from '../../lib';
import { settingsOf, testApp, testStack } from '../util';

interface Built { stack: Stack; cluster: HyperPodCluster; network: TrainingNetwork; storage: LustreStorage; template: Template }

function build(props: Partial<HyperPodClusterProps> = {}, networkAz?: string, prepare?: (c: HyperPodCluster) => void): Built {
  const stack = testStack();
  const network = new TrainingNetwork(stack, 'Network', {
    plannedNodes: [{ instanceType: 'ml.m5.xlarge', count: 2 }, { instanceType: 'ml.p5.48xlarge', count: 4 }],
    availabilityZoneId: networkAz,
  });
  const storage = new LustreStorage(stack, 'Storage', { network, storageCapacityGiB: 1200 });
  const cluster = new HyperPodCluster(stack, 'Cluster', {
    network,
    storage,
    controllerGroup: { instanceType: 'ml.m5.xlarge' },
    computeGroups: [{ name: 'gpu', instanceType: 'ml.p5.48xlarge', count: 4 }],
    ...props,
  });
  prepare?.(cluster);
  return { stack, cluster, network, storage, template: Template.fromStack(stack) };
}

/** The configuration problems `cdk synth` would list for a cluster built with `props`. */
function problems(props: Partial<HyperPodClusterProps>, networkAz?: string): string[] {
  const stack = testStack();
  const network = new TrainingNetwork(stack, 'Network', {
    plannedNodes: [{ instanceType: 'ml.m5.xlarge', count: 2 }, { instanceType: 'ml.p5.48xlarge', count: 4 }],
    availabilityZoneId: networkAz,
  });
  const storage = new LustreStorage(stack, 'Storage', { network, storageCapacityGiB: 1200 });
  new HyperPodCluster(stack, 'Cluster', {
    network,
    storage,
    controllerGroup: { instanceType: 'ml.m5.xlarge' },
    computeGroups: [{ name: 'gpu', instanceType: 'ml.p5.48xlarge', count: 4 }],
    ...props,
  });
  return configurationProblems(stack);
}

function groups(template: Template): Array<Record<string, any>> {
  const clusters = Object.values(template.findResources('AWS::SageMaker::Cluster'));
  expect(clusters).toHaveLength(1);
  return clusters[0].Properties.InstanceGroups;
}

function group(template: Template, name: string): Record<string, any> {
  const found = groups(template).find((g) => g.InstanceGroupName === name);
  if (!found) throw new Error(`no group ${name}`);
  return found;
}

describe('HyperPodCluster defaults', () => {
  const { stack, cluster, network, storage, template } = build();

  test('Slurm through the API: Merge strategy (keeps the scripts\' slurm.conf edits), automatic recovery, one VPC subnet and the EFA group', () => {
    template.hasResourceProperties('AWS::SageMaker::Cluster', {
      Orchestrator: { Slurm: { SlurmConfigStrategy: 'Merge' } },
      NodeRecovery: 'Automatic',
      NodeProvisioningMode: Match.absent(),
      VpcConfig: {
        SecurityGroupIds: [stack.resolve(network.efaSecurityGroup.securityGroupId)],
        Subnets: [stack.resolve(network.computeSubnet.subnetId)],
      },
    });
  });

  test('node types from the groups, one partition per compute group, no provisioning_parameters.json', () => {
    expect(group(template, 'controller').SlurmConfig).toEqual({ NodeType: 'Controller' });
    expect(group(template, 'gpu').SlurmConfig).toEqual({ NodeType: 'Compute', PartitionNames: ['gpu'] });
    expect(groups(template).map((g) => g.InstanceGroupName)).toEqual(['controller', 'gpu']);
    expect(cluster.partitions).toEqual(['gpu']);
  });

  test('HyperPod mounts the Lustre file system at /fsx on every group', () => {
    for (const g of groups(template)) {
      expect(g.InstanceStorageConfigs).toContainEqual({ FsxLustreConfig: {
        DnsName: stack.resolve(storage.dnsName), MountName: stack.resolve(storage.mountName), MountPath: '/fsx',
      } });
    }
  });

  test('GPU groups: hyperthreading off, 500 GiB EBS, InstanceStress + InstanceConnectivity for 2+ nodes', () => {
    const gpu = group(template, 'gpu');
    expect(gpu.ThreadsPerCore).toBe(1);
    expect(gpu.InstanceStorageConfigs).toContainEqual({ EbsVolumeConfig: { VolumeSizeInGB: 500 } });
    expect(gpu.OnStartDeepHealthChecks).toEqual(['InstanceStress', 'InstanceConnectivity']);
    const controller = group(template, 'controller');
    expect(controller.ThreadsPerCore).toBe(2);
    expect(controller.OnStartDeepHealthChecks).toBeUndefined();
    expect(controller.InstanceStorageConfigs).toContainEqual({ EbsVolumeConfig: { VolumeSizeInGB: 100 } });
  });

  test('the controller runs as its own role; the other groups share the execution role', () => {
    expect(group(template, 'controller').ExecutionRole).toEqual(stack.resolve(cluster.controllerRole.roleArn));
    expect(group(template, 'gpu').ExecutionRole).toEqual(stack.resolve(cluster.executionRole.roleArn));
  });

  test('lifecycle scripts: on_init_complete.sh as OnInitComplete (never OnCreate) on every group, at a content-addressed prefix', () => {
    for (const g of groups(template)) {
      expect(g.LifeCycleConfig.OnInitComplete).toBe('on_init_complete.sh');
      expect(g.LifeCycleConfig.OnCreate).toBeUndefined();
    }
    const lifecycle = group(template, 'gpu').LifeCycleConfig;
    expect(stack.resolve(lifecycle.SourceS3Uri)).toEqual({ 'Fn::Join': ['', [
      's3://', stack.resolve(cluster.lifecycleScripts.bucket.bucketName), expect.stringMatching(/^\/lifecycle\/[0-9a-f]{64}\/$/),
    ]] });
    template.hasResourceProperties('Custom::CDKBucketDeployment', {
      DestinationBucketKeyPrefix: Match.stringLikeRegexp('^lifecycle/[0-9a-f]{64}/$'),
      Prune: false,
      RetainOnDelete: true,
    });
    expect(fs.existsSync(path.join(LIFECYCLE_SCRIPTS_DIR, 'on_init_complete.sh'))).toBe(true);
    expect(fs.existsSync(path.join(LIFECYCLE_SCRIPTS_DIR, 'on_create.sh'))).toBe(false);
  });

  test('the lifecycle bucket is sagemaker-lifecycle-<stack UUID>: no literal name, RetainExceptOnCreate', () => {
    const bucketId = stack.getLogicalId(cluster.lifecycleScripts.bucket.node.defaultChild as s3.CfnBucket);
    const bucket = template.toJSON().Resources[bucketId];
    expect(bucket.Properties.BucketName).toEqual({ 'Fn::Join': ['', ['sagemaker-lifecycle-',
      { 'Fn::Select': [2, { 'Fn::Split': ['/', { Ref: 'AWS::StackId' }] }] }]] });
    expect(bucket.DeletionPolicy).toBe('RetainExceptOnCreate');
    expect(bucket.UpdateReplacePolicy).toBe('Retain');
  });

  test('the default cluster name is <stack name>-<id>, unique per stack', () => {
    template.hasResourceProperties('AWS::SageMaker::Cluster', { ClusterName: `${stack.stackName}-Cluster` });
    const long = new Stack(new App(), 'S'.repeat(70));
    const network = new TrainingNetwork(long, 'Network', { plannedNodes: [{ instanceType: 'ml.p5.48xlarge', count: 2 }] });
    const named = new HyperPodCluster(long, 'Cluster', {
      network, controllerGroup: { instanceType: 'ml.m5.xlarge' },
      computeGroups: [{ name: 'gpu', instanceType: 'ml.p5.48xlarge', count: 2 }],
    });
    expect(named.clusterName).toMatch(/^S{54}-[0-9a-f]{8}$/);
  });

  test('settings: user directories (users + exported repositories), repositories and partition sizes for the self-check', () => {
    const settings = settingsOf(stack, template);
    expect(settings.fsx.userDirectories).toEqual(['users']);
    expect(settings.slurm).toEqual({ partitions: { gpu: 4 } });
  });

  test('the cluster waits for the scripts and the roles', () => {
    const resource = Object.values(template.findResources('AWS::SageMaker::Cluster'))[0];
    const deploymentId = Object.keys(template.findResources('Custom::CDKBucketDeployment'))[0];
    expect(resource.DependsOn).toEqual(expect.arrayContaining([
      deploymentId,
      stack.getLogicalId(cluster.executionRole.node.defaultChild as iam.CfnRole),
      stack.getLogicalId(cluster.controllerRole.node.defaultChild as iam.CfnRole),
    ]));
  });

  test('the settings file carries what the scripts may not hard-code', () => {
    const settings = settingsOf(stack, template);
    expect(settings).toMatchObject({
      schemaVersion: 1,
      clusterName: cluster.clusterName,
      fsx: { mountPath: '/fsx' },
      instanceGroups: { controller: 'Controller', gpu: 'Compute' },
      features: { containers: true },
      nccl: { FI_PROVIDER: 'efa', FI_EFA_USE_DEVICE_RDMA: '1', NCCL_SOCKET_IFNAME: '^docker,lo,veth' },
      preload: { parallelism: 16 },
      experimentTracking: null,
    });
    // Deploy-time values are filled in by the deployment (markers), not baked in at synth.
    expect(settings.region).toMatch(/^<<marker:0xbaba:\d+>>$/);
    expect(settings.fsx.dnsName).toMatch(/^<<marker:0xbaba:\d+>>$/);
  });

  test('execution role: trusted by SageMaker, managed cluster-instance policy, VPC attachment and FSx describe', () => {
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'sagemaker.amazonaws.com' } }] },
      ManagedPolicyArns: [{ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::aws:policy/AmazonSageMakerClusterInstanceRolePolicy']] }],
    });
    const policy = template.findResources('AWS::IAM::Policy', {
      Properties: { Roles: [{ Ref: stack.getLogicalId(cluster.executionRole.node.defaultChild as iam.CfnRole) }] },
    });
    const statements = Object.values(policy)[0].Properties.PolicyDocument.Statement;
    const bySid = Object.fromEntries(statements.map((s: any) => [s.Sid, s]));
    expect(bySid.AttachNodesToVpc.Action).toEqual(expect.arrayContaining(['ec2:CreateNetworkInterface', 'ec2:DescribeSubnets']));
    expect(bySid.DescribeFileSystems.Action).toBe('fsx:DescribeFileSystems');
    expect(bySid.ReadLifecycleScripts).toMatchObject({
      Action: 's3:GetObject',
      Resource: { 'Fn::Join': ['', [stack.resolve(cluster.lifecycleScripts.bucket.bucketArn), '/lifecycle/*']] },
    });
    // No condition: HyperPod's own list calls on the lifecycle bucket must never be refused.
    expect(bySid.ListLifecycleScripts).toEqual({ Sid: 'ListLifecycleScripts', Effect: 'Allow', Action: 's3:ListBucket',
      Resource: stack.resolve(cluster.lifecycleScripts.bucket.bucketArn) });
  });

  test('LifecycleScripts.grantRead returns the grant with its two named statements', () => {
    const s = testStack();
    const role = new iam.Role(s, 'Reader', { assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com') });
    const grant = cluster.lifecycleScripts.grantRead(role);
    expect(grant.success).toBe(true);
    expect(grant.principalStatements.map((x) => x.sid)).toEqual(['ListLifecycleScripts', 'ReadLifecycleScripts']);
  });

  test('cdk-nag: no unacknowledged findings', () => {
    const report = new AwsSolutionsChecks().validateScope(stack);
    expect(report.violations.map((v) => `${v.ruleName} ${v.violatingResources.map((r) => r.constructPath).join()}`)).toEqual([]);
  });
});

describe('HyperPodCluster options', () => {
  test('a script change gives a new SourceS3Uri (content-addressed), an unrelated change does not', () => {
    const a = build();
    const b = build({ tags: { team: 'llm' } });
    const c = build({ containers: false });
    const uri = (x: Built) => JSON.stringify(x.stack.resolve(group(x.template, 'gpu').LifeCycleConfig.SourceS3Uri));
    expect(uri(a)).toEqual(uri(b));
    expect(uri(a)).not.toEqual(uri(c));
    const added = build({}, undefined, (cluster) => cluster.lifecycleScripts.addFile('jobs/train.sbatch', '#!/bin/bash\n'));
    expect(uri(added)).not.toEqual(uri(a));
  });

  test('login group, several compute groups, recovery, continuous provisioning, strategy, tags', () => {
    const { template } = build({
      loginGroup: { instanceType: 'ml.m5.xlarge' },
      computeGroups: [
        { name: 'gpu-a', instanceType: 'ml.p5.48xlarge', count: 2 },
        { name: 'gpu-b', instanceType: 'ml.p5.48xlarge', count: 1, deepHealthChecks: [], ebsVolumeSizeGiB: 1000, threadsPerCore: 2 },
      ],
      nodeRecovery: NodeRecovery.NONE,
      continuousProvisioning: true,
      clusterName: 'my-cluster',
      tags: { team: 'llm' },
    });
    template.hasResourceProperties('AWS::SageMaker::Cluster', {
      ClusterName: 'my-cluster',
      NodeRecovery: 'None',
      NodeProvisioningMode: 'Continuous',
      // Continuous provisioning rejects a request that sets SlurmConfigStrategy.
      Orchestrator: { Slurm: { SlurmConfigStrategy: Match.absent() } },
      Tags: [{ Key: 'team', Value: 'llm' }],
    });
    expect(group(template, 'login').SlurmConfig).toEqual({ NodeType: 'Login' });
    expect(group(template, 'gpu-a').SlurmConfig.PartitionNames).toEqual(['gpu-a']);
    const b = group(template, 'gpu-b');
    expect([b.OnStartDeepHealthChecks, b.ThreadsPerCore]).toEqual([undefined, 2]);
    expect(b.InstanceStorageConfigs).toContainEqual({ EbsVolumeConfig: { VolumeSizeInGB: 1000 } });
  });

  test('an explicit strategy is sent without continuous provisioning', () => {
    const { template } = build({ slurmConfigStrategy: SlurmConfigStrategy.MANAGED });
    template.hasResourceProperties('AWS::SageMaker::Cluster', { Orchestrator: { Slurm: { SlurmConfigStrategy: 'Managed' } } });
  });

  test('a group without EFA (ml.g5.2xlarge) gets InstanceStress only, never InstanceConnectivity by default', () => {
    const { template } = build({ computeGroups: [{ name: 'g5', instanceType: 'ml.g5.2xlarge', count: 2 }] });
    expect(group(template, 'g5').OnStartDeepHealthChecks).toEqual(['InstanceStress']);
  });

  test('nodes read the datasets and read/write the checkpoints (S3 + KMS), scoped to their prefixes', () => {
    const stack = testStack();
    const network = new TrainingNetwork(stack, 'Network', { plannedNodes: [{ instanceType: 'ml.p5.48xlarge', count: 2 }] });
    const storage = new LustreStorage(stack, 'Storage', { network, storageCapacityGiB: 1200 });
    storage.addDataRepository({ fileSystemPath: '/datasets', bucket: storage.datasetsBucket });
    storage.addDataRepository({ fileSystemPath: '/checkpoints', bucket: storage.checkpointsBucket, autoExportEvents: [DataRepositoryEvent.NEW] });
    const cluster = new HyperPodCluster(stack, 'Cluster', {
      network, storage, controllerGroup: { instanceType: 'ml.m5.xlarge' },
      computeGroups: [{ name: 'gpu', instanceType: 'ml.p5.48xlarge', count: 2 }],
    });
    const template = Template.fromStack(stack);
    const policy = template.findResources('AWS::IAM::Policy', {
      Properties: { Roles: [{ Ref: stack.getLogicalId(cluster.executionRole.node.defaultChild as iam.CfnRole) }] },
    });
    const bySid = Object.fromEntries(Object.values(policy)[0].Properties.PolicyDocument.Statement.map((x: any) => [x.Sid, x]));
    const datasets = stack.resolve(storage.datasetsBucket.bucketArn);
    const checkpoints = stack.resolve(storage.checkpointsBucket.bucketArn);
    expect(bySid.ListDataRepository0).toMatchObject({ Action: 's3:ListBucket', Resource: datasets,
      Condition: { StringLike: { 's3:prefix': ['datasets/', 'datasets/*'] } } });
    expect(bySid.ReadDataRepository0).toEqual({ Sid: 'ReadDataRepository0', Effect: 'Allow', Action: 's3:GetObject',
      Resource: { 'Fn::Join': ['', [datasets, '/datasets/*']] } });
    expect(bySid.ReadWriteDataRepository1).toMatchObject({
      Action: ['s3:AbortMultipartUpload', 's3:GetObject', 's3:ListMultipartUploadParts', 's3:PutObject'],
      Resource: { 'Fn::Join': ['', [checkpoints, '/checkpoints/*']] },
    });
    const key = stack.resolve(storage.encryptionKey.keyArn);
    expect(bySid.DataRepositoryKey0).toMatchObject({ Action: 'kms:Decrypt', Resource: key });
    expect(bySid.DataRepositoryKey1).toMatchObject({ Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Resource: key });
    // The exported directory is where jobs write: the controller makes it writable by every user.
    expect(settingsOf(stack, template).fsx.userDirectories).toEqual(['users', 'checkpoints']);
    expect(new AwsSolutionsChecks().validateScope(stack).violations.filter((v) => v.ruleName.startsWith('AwsSolutions-IAM5'))).toEqual([]);
  });

  test.each([
    ['an environment-agnostic stack', undefined],
    ['a concrete environment', { account: '111122223333', region: 'us-east-1' }],
  ])('an imported bucket behind a data repository leaves no IAM5 finding, in %s', (_name, env) => {
    const stack = new Stack(testApp(), 'Test', { env });
    const network = new TrainingNetwork(stack, 'Network', {
      plannedNodes: [{ instanceType: 'ml.p5.48xlarge', count: 2 }], availabilityZoneId: 'use1-az6',
    });
    const storage = new LustreStorage(stack, 'Storage', { network, storageCapacityGiB: 1200 });
    const team = s3.Bucket.fromBucketName(stack, 'TeamData', 'team-datasets-111122223333');
    storage.addDataRepository({ fileSystemPath: '/team', bucket: team, prefix: 'corpora/' });
    new HyperPodCluster(stack, 'Cluster', {
      network, storage, controllerGroup: { instanceType: 'ml.m5.xlarge' },
      computeGroups: [{ name: 'gpu', instanceType: 'ml.p5.48xlarge', count: 2 }],
    });
    const findings = new AwsSolutionsChecks().validateScope(stack).violations.filter((v) => v.ruleName.startsWith('AwsSolutions-IAM5'));
    expect(findings.map((v) => v.violatingResources.map((r) => `${r.constructPath} ${r.locations}`))).toEqual([]);
  });

  test('a single GPU node gets InstanceStress only', () => {
    const { template } = build({ computeGroups: [{ name: 'one', instanceType: 'ml.p5.48xlarge', count: 1 }] });
    expect(group(template, 'one').OnStartDeepHealthChecks).toEqual(['InstanceStress']);
  });

  test('a training plan and a per-group subnet', () => {
    const stack = testStack();
    const network = new TrainingNetwork(stack, 'Network', { plannedNodes: [{ instanceType: 'ml.p5.48xlarge', count: 4 }] });
    const other = ec2.Subnet.fromSubnetAttributes(stack, 'Other', { subnetId: 'subnet-other', availabilityZone: 'us-east-1b' });
    new HyperPodCluster(stack, 'Cluster', {
      network,
      controllerGroup: { instanceType: 'ml.m5.xlarge' },
      computeGroups: [{
        name: 'planned', instanceType: 'ml.p5.48xlarge', count: 2, subnet: other,
        trainingPlanArn: 'arn:aws:sagemaker:us-east-1:111122223333:training-plan/plan-1',
      }],
    });
    const planned = group(Template.fromStack(stack), 'planned');
    expect(planned.TrainingPlanArn).toBe('arn:aws:sagemaker:us-east-1:111122223333:training-plan/plan-1');
    expect(planned.OverrideVpcConfig).toEqual({
      SecurityGroupIds: [stack.resolve(network.efaSecurityGroup.securityGroupId)], Subnets: ['subnet-other'],
    });
    expect(planned.InstanceStorageConfigs).toEqual([{ EbsVolumeConfig: { VolumeSizeInGB: 500 } }]);
  });

  test('experiment tracking: the execution role may read the secret, and the scripts learn its ARN', () => {
    const stack = testStack();
    const network = new TrainingNetwork(stack, 'Network', { plannedNodes: [{ instanceType: 'ml.p5.48xlarge', count: 2 }] });
    const secret = secretsmanager.Secret.fromSecretNameV2(stack, 'Wandb', 'wandb-api-key');
    const cluster = new HyperPodCluster(stack, 'Cluster', {
      network,
      controllerGroup: { instanceType: 'ml.m5.xlarge' },
      computeGroups: [{ name: 'gpu', instanceType: 'ml.p5.48xlarge', count: 2 }],
      experimentTracking: { secret },
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: stack.getLogicalId(cluster.executionRole.node.defaultChild as iam.CfnRole) }],
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({
        Action: Match.arrayWith(['secretsmanager:GetSecretValue']),
      })]) },
    });
    expect(settingsOf(stack, template).experimentTracking).toMatchObject({ envVar: 'WANDB_API_KEY' });
  });

  test('an observability partner adds its settings for the nodes and is handed the cluster', () => {
    const monitored: HyperPodCluster[] = [];
    const metrics: NodeMetricsSettings = {
      remoteWriteUrl: 'https://aps.example/api/v1/remote_write', region: 'us-east-1', scrapeIntervalSeconds: 30,
      images: { collector: 'c:1', nodeExporter: 'n:1', dcgmExporter: 'd:1' },
    };
    const observability: IClusterObservability = {
      nodeSettings: () => ({ observability: metrics }),
      monitor: (c) => { monitored.push(c as HyperPodCluster); },
    };
    const { stack, cluster, template } = build({ observability });
    expect(monitored).toEqual([cluster]);
    const settings = settingsOf(stack, template);
    expect(settings).toMatchObject({ observability: metrics, schemaVersion: 1 });
    expect(settings).not.toHaveProperty('jobNotifications');
  });

  test('an imported file system gets the Lustre rules from the cluster security group', () => {
    const stack = testStack();
    const network = new TrainingNetwork(stack, 'Network', { plannedNodes: [{ instanceType: 'ml.p5.48xlarge', count: 2 }] });
    const fsSg = ec2.SecurityGroup.fromSecurityGroupId(stack, 'FsSg', 'sg-fsx');
    const storage = LustreStorage.fromLustreStorageAttributes(stack, 'Fs', {
      fileSystemId: 'fs-1', dnsName: 'fs-1.fsx.us-east-1.amazonaws.com', mountName: 'abcd', securityGroup: fsSg,
    });
    new HyperPodCluster(stack, 'Cluster', {
      network, storage,
      controllerGroup: { instanceType: 'ml.m5.xlarge' },
      computeGroups: [{ name: 'gpu', instanceType: 'ml.p5.48xlarge', count: 2 }],
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', { GroupId: 'sg-fsx', FromPort: 988, ToPort: 988 });
    template.hasResourceProperties('AWS::EC2::SecurityGroupEgress', { DestinationSecurityGroupId: 'sg-fsx', FromPort: 1018, ToPort: 1023 });
  });

  test('the deprecated fromClusterAttributes is fromHyperPodClusterAttributes', () => {
    const stack = testStack();
    const role = iam.Role.fromRoleArn(stack, 'Role', 'arn:aws:iam::111122223333:role/hp');
    const sg = ec2.SecurityGroup.fromSecurityGroupId(stack, 'Sg', 'sg-1');
    const imported = HyperPodCluster.fromClusterAttributes(stack, 'Imported', { clusterName: 'existing', executionRole: role, securityGroup: sg });
    expect([imported.clusterName, imported.executionRole, imported.stack]).toEqual(['existing', role, stack]);
  });

  test('fromHyperPodClusterAttributes exposes name, ARN, roles and security group', () => {
    const stack = testStack();
    const role = iam.Role.fromRoleArn(stack, 'Role', 'arn:aws:iam::111122223333:role/hp');
    const sg = ec2.SecurityGroup.fromSecurityGroupId(stack, 'Sg', 'sg-1');
    const imported = HyperPodCluster.fromHyperPodClusterAttributes(stack, 'Imported', { clusterName: 'existing', executionRole: role, securityGroup: sg });
    expect(imported.clusterName).toBe('existing');
    expect(stack.resolve(imported.clusterArn)).toEqual({ 'Fn::Join': ['', [
      'arn:', { Ref: 'AWS::Partition' }, ':sagemaker:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':cluster/existing',
    ]] });
    expect([imported.executionRole, imported.controllerRole]).toEqual([role, role]);
    expect(imported.connections.securityGroups).toEqual([sg]);
  });

  test('a training plan AZ that cannot be checked is a warning', () => {
    const { stack } = build({
      computeGroups: [{ name: 'gpu', instanceType: 'ml.p5.48xlarge', count: 2, trainingPlanAvailabilityZoneId: 'use1-az6' }],
    });
    Annotations.fromStack(stack).hasWarning('/Test/Cluster', Match.stringLikeRegexp("gpu: cannot check that its subnet is in use1-az6"));
  });

  test('a training plan in the network\'s AZ is accepted', () => {
    expect(() => build({
      computeGroups: [{ name: 'gpu', instanceType: 'ml.p5.48xlarge', count: 2, trainingPlanAvailabilityZoneId: 'use1-az6' }],
    }, 'use1-az6')).not.toThrow();
  });
});

describe('HyperPodCluster validation', () => {
  const gpu = { name: 'gpu', instanceType: 'ml.p5.48xlarge', count: 2 };
  const cases: Array<[string, Partial<HyperPodClusterProps>, string | RegExp]> = [
    ['a group name with invalid characters', { computeGroups: [{ ...gpu, name: 'gpu_nodes' }] },
      "Test/Cluster: computeGroups[0].name must be letters, digits and hyphens, starting and ending with a letter or digit, at most 63 characters, got 'gpu_nodes'"],
    ['a group name over 63 characters', { computeGroups: [{ ...gpu, name: 'g'.repeat(64) }] },
      /computeGroups\[0\]\.name must be letters, digits and hyphens.*got 'g{64}'/],
    ['duplicate group names', { loginGroup: { name: 'gpu', instanceType: 'ml.m5.xlarge' }, computeGroups: [gpu] },
      "Test/Cluster: instance group names must be unique in the cluster, got 'gpu' twice (names: controller, gpu, gpu)"],
    ['a controller count other than 1', { controllerGroup: { instanceType: 'ml.m5.xlarge', count: 2 } },
      'Test/Cluster: controllerGroup.count must be an integer from 1 to 1, got 2'],
    ['no compute group', { computeGroups: [] }, 'Test/Cluster: computeGroups must have at least one group, got none'],
    ['a count below 1', { computeGroups: [{ ...gpu, count: 0 }] },
      'Test/Cluster: computeGroups[0].count must be an integer from 1 to 10000, got 0'],
    ['an unknown instance type', { computeGroups: [{ ...gpu, instanceType: 'ml.p5.96xlarge' }] },
      /Test\/Cluster: computeGroups\[0\]\.instanceType must be a HyperPod instance type \(ml\.p4d\.24xlarge, .*\), got 'ml\.p5\.96xlarge'/],
    ['threads per core other than 1 or 2', { computeGroups: [{ ...gpu, threadsPerCore: 4 }] },
      'Test/Cluster: computeGroups[0].threadsPerCore must be one of 1, 2, got 4'],
    ['an EBS volume over 16384 GiB', { computeGroups: [{ ...gpu, ebsVolumeSizeGiB: 20000 }] },
      'Test/Cluster: computeGroups[0].ebsVolumeSizeGiB must be an integer from 1 to 16384, got 20000'],
    ['InstanceConnectivity on a single node', {
      computeGroups: [{ ...gpu, count: 1, deepHealthChecks: [DeepHealthCheck.INSTANCE_CONNECTIVITY] }],
    }, 'Test/Cluster: computeGroups[0].deepHealthChecks InstanceConnectivity needs a group of 2 or more nodes, got count 1'],
    ['InstanceConnectivity on an instance type without EFA', {
      computeGroups: [{ name: 'g5', instanceType: 'ml.g5.2xlarge', count: 2, deepHealthChecks: [DeepHealthCheck.INSTANCE_CONNECTIVITY] }],
    }, 'Test/Cluster: computeGroups[0].deepHealthChecks InstanceConnectivity runs only on instance types with EFA (multi-node GPU communication), got ml.g5.2xlarge; use [InstanceStress]'],
    ['a Slurm config strategy with continuous provisioning', { continuousProvisioning: true, slurmConfigStrategy: SlurmConfigStrategy.MERGE },
      "Test/Cluster: slurmConfigStrategy must be unset with continuousProvisioning (continuous provisioning supports only Merge and rejects requests that set the strategy), got 'Merge'"],
    ['health checks on a CPU group', {
      computeGroups: [gpu, { name: 'cpu', instanceType: 'ml.c5.4xlarge', count: 1, deepHealthChecks: [DeepHealthCheck.INSTANCE_STRESS] }],
    }, 'Test/Cluster: computeGroups[1].deepHealthChecks run on GPU and Trainium instances only, got [InstanceStress] for ml.c5.4xlarge'],
    ['more nodes than the compute subnet holds', { computeGroups: [{ ...gpu, count: 200 }] },
      'Test/Cluster: instance groups need 6401 IP addresses in the compute subnet (1 x ml.m5.xlarge, 200 x ml.p5.48xlarge), got 10.0.0.0/24 with 251 usable: plan the network for these nodes (TrainingNetwork plannedNodes)'],
    ['an invalid cluster name', { clusterName: 'my cluster' },
      "Test/Cluster: clusterName must be letters, digits and hyphens, starting and ending with a letter or digit, at most 63 characters, got 'my cluster'"],
    ['a relative mount path', { mountPath: 'fsx' }, "Test/Cluster: mountPath must be an absolute path such as '/fsx', got 'fsx'"],
    ['a preload parallelism of 0', { preloadParallelism: 0 }, 'Test/Cluster: preloadParallelism must be an integer from 1 to 256, got 0'],
  ];
  test.each(cases)('refuses %s', (_name, props, message) => {
    expect(problems(props)).toEqual([typeof message === 'string' ? message : expect.stringMatching(message)]);
  });

  test('lists every mistake at once, and the synth fails on them', () => {
    const mistakes = {
      clusterName: 'my cluster', mountPath: 'fsx',
      computeGroups: [{ ...gpu, instanceType: 'ml.p5.48xlarg' }, { ...gpu, name: 'eval', count: 0 }],
    };
    expect(problems(mistakes)).toEqual([
      expect.stringMatching(/^Test\/Cluster: clusterName must be letters/),
      expect.stringMatching(/^Test\/Cluster: computeGroups\[0\]\.instanceType must be a HyperPod instance type .*got 'ml\.p5\.48xlarg' \(did you mean 'ml\.p5\.48xlarge'\?\)$/),
      'Test/Cluster: computeGroups[1].count must be an integer from 1 to 10000, got 0',
      "Test/Cluster: mountPath must be an absolute path such as '/fsx', got 'fsx'",
    ]);
    expect(() => build(mistakes)).toThrow(/Validation failed/);
  });

  test.each([
    ['network', 'the TrainingNetwork or TrainingNetwork.fromTrainingNetworkAttributes the nodes run in'],
    ['controllerGroup', "the Slurm controller's instance group, e.g. { instanceType: 'ml.m5.xlarge' }"],
    ['computeGroups', "a list of compute groups, e.g. [{ name: 'gpu', instanceType: 'ml.p5.48xlarge', count: 2 }]"],
  ])('a missing %s is named, not "Cannot read properties of undefined"', (field, expected) => {
    expect(() => build({ [field]: undefined })).toThrow(`Test/Cluster: ${field} is required (${expected}), got undefined`);
  });

  test('refuses a training plan in another AZ than the subnet', () => {
    expect(problems({
      computeGroups: [{ ...gpu, trainingPlanAvailabilityZoneId: 'use1-az4' }],
    }, 'use1-az6')).toEqual(["Test/Cluster: gpu.trainingPlanAvailabilityZoneId must match the AZ of the group's subnet (use1-az6): the training plan's capacity is in use1-az4"]);
  });
});
