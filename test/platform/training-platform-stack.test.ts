import * as fs from 'fs';
import * as path from 'path';
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { PROFILES, profileNamed, SMOKE, SWALLOW_70B, SWALLOW_70B_PLAN, TrainingPlatformStack } from '../../lib';
import { testApp } from '../util';

function referenceStack(profile = SWALLOW_70B, app = testApp()): TrainingPlatformStack {
  return new TrainingPlatformStack(app, 'TrainingPlatform', { profile, availabilityZoneId: 'use1-az6' });
}

function nagFindings(stack: Stack): string[] {
  const report = new AwsSolutionsChecks().validateScope(stack);
  return report.violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} ${r.constructPath ?? r.resourceLogicalId}`));
}

describe('profiles', () => {
  test('an unknown profile is refused with the known ones listed', () => {
    expect(() => profileNamed(testApp(), 'swallow-7b')).toThrow(
      "App: profile must be one of swallow-70b, smoke (-c profile=NAME), got 'swallow-7b'");
  });

  test('swallow-70b is sized from its plan: 32 p5 nodes, the planned FSx, the layout in an output', () => {
    const plan = SWALLOW_70B_PLAN;
    expect([plan.nodes, plan.instanceType]).toEqual([32, 'ml.p5.48xlarge']);
    expect(plan.days).toBeGreaterThan(13);
    expect(plan.days).toBeLessThan(19);
    expect(plan.recommendedFsx.checkpointWriteSeconds).toBeLessThanOrEqual(60 * 60);
    const template = Template.fromStack(referenceStack());
    template.hasResourceProperties('AWS::FSx::FileSystem', {
      StorageCapacity: plan.recommendedFsx.storageCapacityGiB,
      LustreConfiguration: Match.objectLike({ PerUnitStorageThroughput: plan.recommendedFsx.perUnitThroughputMBps }),
    });
    template.hasOutput('TrainingPlan', { Value: Match.stringLikeRegexp('^Llama-3.3-70B on 32x ml.p5.48xlarge \\(256 GPUs\\): TP\\d+ PP\\d+ CP\\d+ DP\\d+') });
  });

  test('swallow-70b: 32 ml.p5.48xlarge in a /21, /datasets and /checkpoints repositories', () => {
    const stack = referenceStack();
    const template = Template.fromStack(stack);
    expect(stack.network.requiredAddresses).toBeGreaterThan(32 * 32);
    template.hasResourceProperties('AWS::EC2::Subnet', { CidrBlock: '10.0.0.0/21' });
    // Both export what is written on FSx (tokenized data, checkpoints), but not deletions: a file removed from FSx to
    // make room stays in S3.
    for (const fileSystemPath of ['/datasets', '/checkpoints']) {
      template.hasResourceProperties('AWS::FSx::DataRepositoryAssociation', {
        FileSystemPath: fileSystemPath,
        S3: { AutoExportPolicy: { Events: ['NEW', 'CHANGED'] }, AutoImportPolicy: { Events: ['NEW', 'CHANGED', 'DELETED'] } },
      });
    }
    template.resourcePropertiesCountIs('AWS::EC2::VPCEndpoint', { VpcEndpointType: 'Interface' }, 12);
  });

  test('swallow-70b cluster: controller m5.12xlarge, login m5.4xlarge, 32 p5 with deep health checks', () => {
    const template = Template.fromStack(referenceStack());
    template.hasResourceProperties('AWS::SageMaker::Cluster', {
      ClusterName: 'TrainingPlatform-Cluster',
      InstanceGroups: [
        Match.objectLike({ InstanceGroupName: 'controller', InstanceType: 'ml.m5.12xlarge', InstanceCount: 1 }),
        Match.objectLike({ InstanceGroupName: 'login', InstanceType: 'ml.m5.4xlarge', InstanceCount: 1 }),
        Match.objectLike({
          InstanceGroupName: 'gpu', InstanceType: 'ml.p5.48xlarge', InstanceCount: 32,
          OnStartDeepHealthChecks: ['InstanceStress', 'InstanceConnectivity'],
        }),
      ],
    });
  });

  test('smoke cluster: a controller and 2 x ml.g5.2xlarge, no login node', () => {
    const template = Template.fromStack(referenceStack(SMOKE));
    template.hasResourceProperties('AWS::SageMaker::Cluster', {
      ClusterName: 'TrainingPlatform-Cluster',
      InstanceGroups: [
        Match.objectLike({ InstanceGroupName: 'controller', InstanceType: 'ml.m5.xlarge' }),
        // No EFA on g5.2xlarge: HyperPod does not support InstanceConnectivity there.
        Match.objectLike({ InstanceGroupName: 'gpu', InstanceType: 'ml.g5.2xlarge', InstanceCount: 2, OnStartDeepHealthChecks: ['InstanceStress'] }),
      ],
    });
  });

  test('observability: Prometheus workspace with the rules, Grafana, FSx alarm, and the cluster wired in', () => {
    const stack = referenceStack();
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::APS::Workspace', 1);
    template.resourceCountIs('AWS::APS::RuleGroupsNamespace', 1);
    template.resourceCountIs('AWS::Grafana::Workspace', 1);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'FreeDataStorageCapacity', Threshold: SWALLOW_70B_PLAN.recommendedFsx.storageCapacityGiB * 1024 ** 3 * 0.1,
    });
    template.hasResourceProperties('AWS::Events::Rule', { EventPattern: { resources: Match.arrayWith([stack.resolve(stack.cluster.clusterArn)]) } });
  });

  test('no serving endpoint unless asked for; servingModelKey adds one reading that prefix of the checkpoints bucket', () => {
    Template.fromStack(referenceStack(SMOKE)).resourceCountIs('AWS::SageMaker::Endpoint', 0);
    const stack = new TrainingPlatformStack(testApp(), 'TrainingPlatform', { profile: SMOKE, availabilityZoneId: 'use1-az6', servingModelKey: 'checkpoints/serving/swallow-70b/' });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::SageMaker::Endpoint', 1);
    template.hasResourceProperties('AWS::SageMaker::Model', { PrimaryContainer: Match.objectLike({
      ModelDataSource: { S3DataSource: Match.objectLike({ CompressionType: 'None', S3DataType: 'S3Prefix' }) },
    }) });
    expect(new AwsSolutionsChecks().validateScope(stack).violations).toEqual([]);
  });

  test('the serving key docs/operations.md deploys lies under the checkpoints association, which nodes may write', () => {
    const docs = fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'operations.md'), 'utf8');
    const key = /-c servingModelKey=(\S+?)`/.exec(docs)![1];
    const stack = referenceStack(SMOKE);
    const checkpoints = stack.storage.dataRepositories.find((r) => r.bucket === stack.storage.checkpointsBucket)!;
    expect(key.startsWith(checkpoints.prefix)).toBe(true);
    const statements = Object.values(Template.fromStack(stack).findResources('AWS::IAM::Policy'))
      .flatMap((p: any) => p.Properties.PolicyDocument.Statement);
    expect(statements).toContainEqual(expect.objectContaining({
      Action: expect.arrayContaining(['s3:PutObject']),
      Resource: stack.resolve(checkpoints.bucket.arnForObjects(`${checkpoints.prefix}*`)),
    }));
  });

  test('the availability zone ID reaches the compute subnet', () => {
    const stack = new TrainingPlatformStack(testApp(), 'TrainingPlatform', { profile: SMOKE, availabilityZoneId: 'usw2-az2' });
    Template.fromStack(stack).hasResourceProperties('AWS::EC2::Subnet', { AvailabilityZoneId: 'usw2-az2', CidrBlock: '10.0.0.0/24' });
  });

  test.each(PROFILES.map((p) => [p.name, p]))('snapshot of the %s template', (_name, profile) => {
    expect(Template.fromStack(referenceStack(profile)).toJSON()).toMatchSnapshot();
  });
});

describe('the first cdk deploy (runtime facts found in review)', () => {
  const stacks = PROFILES.map((p) => [p.name, referenceStack(p)] as const);
  const RETAINED = ['Retain', 'RetainExceptOnCreate'];
  const DATA_STORES = ['AWS::FSx::FileSystem', 'AWS::S3::Bucket', 'AWS::KMS::Key', 'AWS::APS::Workspace', 'AWS::Logs::LogGroup'];

  test.each(stacks)('%s: every instance group runs the scripts as OnInitComplete, none as OnCreate', (_name, stack) => {
    const cluster = Object.values(Template.fromStack(stack).findResources('AWS::SageMaker::Cluster'))[0];
    for (const g of cluster.Properties.InstanceGroups) {
      expect(g.LifeCycleConfig).toEqual({ SourceS3Uri: expect.anything(), OnInitComplete: 'on_init_complete.sh' });
    }
  });

  test.each(stacks)('%s: no retained resource has a literal physical name', (_name, stack) => {
    const literal: string[] = [];
    for (const [id, resource] of Object.entries<any>(Template.fromStack(stack).toJSON().Resources)) {
      if (!RETAINED.includes(resource.DeletionPolicy)) continue;
      for (const [key, value] of Object.entries(resource.Properties ?? {})) {
        if (/Name$/.test(key) && typeof value === 'string') literal.push(`${id}.${key}=${value}`);
      }
    }
    expect(literal).toEqual([]);
  });

  test.each(stacks)('%s: data stores are RetainExceptOnCreate (a failed first create cleans up)', (_name, stack) => {
    const template = Template.fromStack(stack).toJSON();
    const policies = Object.entries<any>(template.Resources)
      .filter(([, r]) => DATA_STORES.includes(r.Type))
      .map(([id, r]) => `${id} ${r.DeletionPolicy}`);
    // Not the platform's data: custom-resource handlers' own logs (created in aws-cdk-lib and by the dashboard
    // provisioner, the AwsCustomResource singleton that starts the image build). The VPC flow logs are data.
    const notData = /^(ObservabilityDashboards.*(Logs|LogGroup)|CustomCDKBucketDeployment.*LogGroup|AWS679f53fac002430cb0da5b7982bd2287LogGroup)/;
    expect(policies.filter((p) => !p.endsWith(' RetainExceptOnCreate') && !notData.test(p))).toEqual([]);
    expect(policies.length).toBeGreaterThanOrEqual(8);
  });

  test.each(stacks)('%s: the alert topic\'s policy admits CloudWatch alarms from this account', (_name, stack) => {
    const statements = Object.values(Template.fromStack(stack).findResources('AWS::SNS::TopicPolicy'))
      .flatMap((p) => p.Properties.PolicyDocument.Statement);
    expect(statements).toContainEqual(expect.objectContaining({
      Effect: 'Allow', Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: 'sns:Publish',
      Condition: expect.objectContaining({ StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } }),
    }));
  });

  test.each(stacks)('%s: the stack builds the training image into a private ECR repository the nodes may pull', (_name, stack) => {
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::CodeBuild::Project', 1);
    template.hasResourceProperties('AWS::ECR::Repository', { ImageScanningConfiguration: { ScanOnPush: true }, ImageTagMutability: 'IMMUTABLE' });
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p: any) => p.Properties.PolicyDocument.Statement);
    expect(statements).toContainEqual(expect.objectContaining({
      Action: expect.arrayContaining(['ecr:BatchGetImage']), Resource: stack.resolve(stack.trainingImage.repository.repositoryArn),
    }));
    expect(Object.keys(template.findOutputs('*'))).toEqual(expect.arrayContaining(['TrainingImageUri', 'TrainingImageBuildId', 'TrainingImageEnroot']));
  });

  test.each(stacks)('%s: exporter images come from HyperPod\'s regional ECR registry', (_name, stack) => {
    const images = stack.resolve(stack.observability.exporterImages());
    for (const image of Object.values<any>(images)) {
      expect(image['Fn::Join'][1].slice(0, 4)).toEqual(['602401143452.dkr.ecr.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }]);
      expect(image['Fn::Join'][1][4]).toMatch(/^\/hyperpod\/[a-z_]+:[A-Za-z0-9.-]+$/);
    }
  });

  test.each(PROFILES.map((p) => [p.name, p]))('%s without an AZ ID is a synth error that says how to find the AZ', (_name, profile) => {
    expect(() => new TrainingPlatformStack(testApp(), 'TrainingPlatform', { profile })).toThrow(
      new RegExp(`^TrainingPlatform: availabilityZoneId must be given for profile '${profile.name}' .*`
        + 'aws ec2 describe-availability-zones.*got none$'));
  });
});

describe('compliance', () => {
  test.each(PROFILES.map((p) => [p.name, p]))('cdk-nag AwsSolutions: no unacknowledged findings (%s)', (_name, profile) => {
    expect(nagFindings(referenceStack(profile))).toEqual([]);
  });

  test('cdk-nag does catch a finding in this setup (an unencrypted, unlogged bucket)', () => {
    const stack = referenceStack(SMOKE);
    new s3.CfnBucket(stack, 'Careless');
    expect(nagFindings(stack)).toEqual(expect.arrayContaining([expect.stringMatching(/^AwsSolutions-S1 TrainingPlatform\/Careless$/)]));
  });

});

describe('CloudFormation schema validation', () => {
  // The suite runs with CDK_VALIDATION=false (test/setup-env.ts); this one turns it back on.
  beforeEach(() => { delete process.env.CDK_VALIDATION; });
  afterEach(() => { process.env.CDK_VALIDATION = 'false'; });

  // That the reference stack passes it (and cfn-guard, and cdk-nag) is the README command's test
  // (reference-app.test.ts), through the CDK CLI: synthesizing it again here cost 5.5 s for nothing new.
  test('the validation is on (cdk.json) and fails synth on an invalid property', () => {
    const app = testApp();
    expect(app.node.tryGetContext('@aws-cdk/core:validateAgainstDefaultRules')).toBe(true);
    referenceStack(SMOKE, app).storage.resource.addPropertyOverride('NotAProperty', 1);
    expect(() => app.synth()).toThrow(/NotAProperty: Additional properties are not allowed/);
  });
});

