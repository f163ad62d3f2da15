import * as sagemaker from '@aws-cdk/aws-sagemaker-alpha';
import { Duration, Lazy, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { CfnEndpoint } from 'aws-cdk-lib/aws-sagemaker';
import { AwsSolutionsChecks } from 'cdk-nag';
import { DataCaptureMode, IModelEndpoint, ModelEndpoint, ModelEndpointProps } from '../../lib/inference/model-endpoint';
import { AccessLogsBucket } from '../../lib/storage/access-logs-bucket';
import { TrainingBucket } from '../../lib/storage/training-bucket';
import { testApp, testStack } from '../util';

interface Built {
  stack: Stack;
  endpoint: ModelEndpoint;
  template: Template;
}

/**
 * An in-stack, KMS-encrypted checkpoints bucket (as LustreStorage makes it) and an endpoint serving a prefix of it;
 * `extend` adds to the stack before the template is synthesized.
 */
function build(
  props: Partial<ModelEndpointProps> = {}, stack = testStack(), extend: (endpoint: ModelEndpoint) => void = () => undefined,
): Built & { bucket: TrainingBucket; key: kms.Key } {
  const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
  const bucket = new TrainingBucket(stack, 'Checkpoints', { encryptionKey: key, accessLogs: new AccessLogsBucket(stack, 'Logs') });
  const endpoint = new ModelEndpoint(stack, 'Serving', { checkpointsBucket: bucket, modelDataKey: 'swallow-70b/hf/iter_0050000/', ...props });
  extend(endpoint);
  return { stack, endpoint, bucket, key, template: Template.fromStack(stack) };
}

/** An endpoint reading from an imported bucket named 'ckpt' (literal names, for exact ARNs and messages). */
function buildImported(propsOf: Partial<ModelEndpointProps> | ((stack: Stack) => Partial<ModelEndpointProps>) = {}): Built {
  const stack = testStack();
  const props = typeof propsOf === 'function' ? propsOf(stack) : propsOf;
  const endpoint = new ModelEndpoint(stack, 'Serving', {
    checkpointsBucket: s3.Bucket.fromBucketName(stack, 'Ckpt', 'ckpt'),
    ...(props.modelDataUri === undefined ? { modelDataKey: 'llama/hf/' } : {}),
    ...props,
  });
  return { stack, endpoint, template: Template.fromStack(stack) };
}

function statements({ stack, endpoint, template }: Built): Record<string, unknown>[] {
  const roleId = stack.getLogicalId(endpoint.role.node.defaultChild as iam.CfnRole);
  const policies = Object.values(template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: roleId }] } }));
  expect(policies).toHaveLength(1);
  return policies[0].Properties.PolicyDocument.Statement;
}

function nagFindings(stack: Stack): string[] {
  const report = new AwsSolutionsChecks().validateScope(stack);
  return report.violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} ${r.constructPath}`));
}

const PARTITION = { Ref: 'AWS::Partition' };
const REGION = { Ref: 'AWS::Region' };
const ACCOUNT = { Ref: 'AWS::AccountId' };
const DLC_ACCOUNT = { 'Fn::FindInMap': ['DlcRepositoryAccountMap', REGION, 'value'] };
const join = (...parts: unknown[]) => ({ 'Fn::Join': ['', parts] });
const logGroupArn = (name: string, suffix = '') =>
  join('arn:', PARTITION, ':logs:', REGION, ':', ACCOUNT, `:log-group:/aws/sagemaker/Endpoints/${name}${suffix}`);

describe('ModelEndpoint defaults: a prefix of uncompressed weights in an encrypted checkpoints bucket', () => {
  const built = build();
  const { stack, endpoint, bucket, key, template } = built;
  const bucketArn = stack.resolve(bucket.bucketArn);
  const name = 'Test-Serving-D1E99016';

  test('the model serves the prefix as ModelDataSource S3Prefix, uncompressed, and has no ModelDataUrl', () => {
    template.hasResourceProperties('AWS::SageMaker::Model', {
      ExecutionRoleArn: stack.resolve(endpoint.role.roleArn),
      PrimaryContainer: {
        ModelDataSource: {
          S3DataSource: {
            S3Uri: join('s3://', stack.resolve(bucket.bucketName), '/swallow-70b/hf/iter_0050000/'),
            S3DataType: 'S3Prefix',
            CompressionType: 'None',
          },
        },
        ModelDataUrl: Match.absent(),
      },
    });
    expect(stack.resolve(endpoint.modelDataUri)).toEqual(join('s3://', stack.resolve(bucket.bucketName), '/swallow-70b/hf/iter_0050000/'));
  });

  test('the default image is the LMI DLC of the stack region (region map, no lookup), sharded over every GPU', () => {
    template.hasResourceProperties('AWS::SageMaker::Model', {
      PrimaryContainer: {
        Image: join(DLC_ACCOUNT, '.dkr.ecr.', REGION, '.', { Ref: 'AWS::URLSuffix' }, '/djl-inference:0.33.0-lmi15.0.0-cu128'),
        Environment: { OPTION_TENSOR_PARALLEL_DEGREE: 'max' },
      },
    });
    expect(template.toJSON().Mappings.DlcRepositoryAccountMap['us-east-1']).toEqual({ value: '763104351884' });
  });

  test('one ml.p4d.24xlarge in variant AllTraffic, 30-minute startup and download timeouts, no volume key, no capture', () => {
    template.hasResourceProperties('AWS::SageMaker::EndpointConfig', {
      ProductionVariants: [{
        VariantName: 'AllTraffic',
        InstanceType: 'ml.p4d.24xlarge',
        InitialInstanceCount: 1,
        InitialVariantWeight: 1,
        ModelName: { 'Fn::GetAtt': [Match.stringLikeRegexp('ServingModel'), 'ModelName'] },
        ContainerStartupHealthCheckTimeoutInSeconds: 1800,
        ModelDataDownloadTimeoutInSeconds: 1800,
      }],
      KmsKeyId: Match.absent(),
      DataCaptureConfig: Match.absent(),
    });
  });

  test('the endpoint is named after the construct path and exposed as references', () => {
    const endpointId = stack.getLogicalId(endpoint.endpoint.node.findChild('Endpoint') as CfnEndpoint);
    template.hasResourceProperties('AWS::SageMaker::Endpoint', {
      EndpointName: name,
      EndpointConfigName: { 'Fn::GetAtt': [Match.stringLikeRegexp('ServingEndpointConfig'), 'EndpointConfigName'] },
    });
    expect(stack.resolve(endpoint.endpointName)).toEqual({ 'Fn::GetAtt': [endpointId, 'EndpointName'] });
    expect(stack.resolve(endpoint.endpointArn)).toEqual({ Ref: endpointId });
    expect(endpoint.node.defaultChild).toBe(endpoint.endpoint);
  });

  test('the role is trusted by SageMaker and has no managed policy (not the alpha default AmazonSageMakerFullAccess)', () => {
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'sagemaker.amazonaws.com' } }] },
      ManagedPolicyArns: Match.absent(),
    });
    expect(endpoint.grantPrincipal).toBe(endpoint.role);
  });

  test('the role reads only the prefix, decrypts with the bucket key, pulls the image, writes its own logs', () => {
    expect(statements(built)).toEqual([
      { Sid: 'ReadModelData', Effect: 'Allow', Action: 's3:GetObject', Resource: join(bucketArn, '/swallow-70b/hf/iter_0050000/*') },
      {
        Sid: 'ListModelData', Effect: 'Allow', Action: 's3:ListBucket', Resource: bucketArn,
        Condition: { StringLike: { 's3:prefix': ['swallow-70b/hf/iter_0050000/*'] } },
      },
      { Effect: 'Allow', Action: 'kms:Decrypt', Resource: stack.resolve(key.keyArn) },
      {
        Sid: 'WriteEndpointLogs', Effect: 'Allow',
        Action: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:DescribeLogStreams', 'logs:PutLogEvents'],
        Resource: [logGroupArn(name), logGroupArn(name, ':*')],
      },
      {
        Sid: 'PublishEndpointMetrics', Effect: 'Allow', Action: 'cloudwatch:PutMetricData', Resource: '*',
        Condition: { StringLike: { 'cloudwatch:namespace': '/aws/sagemaker/*' } },
      },
      {
        Effect: 'Allow',
        Action: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
        Resource: join('arn:', PARTITION, ':ecr:', REGION, ':', DLC_ACCOUNT, ':repository/djl-inference'),
      },
      { Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' },
    ]);
  });

  test('the model waits for its role policy (else "access denied" on the model data at creation)', () => {
    const model = Object.values(template.findResources('AWS::SageMaker::Model'))[0];
    expect(model.DependsOn).toEqual(expect.arrayContaining([stack.getLogicalId(endpoint.role.node.findChild('DefaultPolicy').node.defaultChild as iam.CfnPolicy)]));
  });

  test('no autoscaling without autoScaling', () => {
    template.resourceCountIs('AWS::ApplicationAutoScaling::ScalableTarget', 0);
    template.resourceCountIs('AWS::ApplicationAutoScaling::ScalingPolicy', 0);
    expect(endpoint.scalableInstanceCount).toBeUndefined();
  });

  test('cdk-nag: no unacknowledged findings', () => {
    expect(nagFindings(stack)).toEqual([]);
  });

  test('grantInvoke allows InvokeEndpoint and InvokeEndpointWithResponseStream on this endpoint only', () => {
    const s = testStack();
    const client = new iam.Role(s, 'Client', { assumedBy: new iam.AccountRootPrincipal() });
    let grant: iam.Grant | undefined;
    const { endpoint: e, template: t } = build({}, s, (served) => { grant = served.grantInvoke(client); });
    expect(grant?.success).toBe(true);
    t.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: s.getLogicalId(client.node.defaultChild as iam.CfnRole) }],
      PolicyDocument: {
        Statement: [{
          Effect: 'Allow',
          Action: ['sagemaker:InvokeEndpoint', 'sagemaker:InvokeEndpointWithResponseStream'],
          Resource: s.resolve(e.endpointArn),
        }],
      },
    });
  });
});

describe('ModelEndpoint imported', () => {
  test('fromModelEndpointAttributes builds the ARN from the name, and grants invoke on it', () => {
    const stack = testStack();
    const client = new iam.Role(stack, 'Client', { assumedBy: new iam.AccountRootPrincipal() });
    const endpoint: IModelEndpoint = ModelEndpoint.fromModelEndpointAttributes(stack, 'Served', { endpointName: 'swallow-70b' });
    expect(stack.resolve(endpoint.endpointArn)).toEqual({ 'Fn::Join': ['', [
      'arn:', { Ref: 'AWS::Partition' }, ':sagemaker:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':endpoint/swallow-70b',
    ]] });
    expect(endpoint.grantInvoke(client).success).toBe(true);
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', { PolicyDocument: { Statement: [{
      Effect: 'Allow', Action: ['sagemaker:InvokeEndpoint', 'sagemaker:InvokeEndpointWithResponseStream'],
      Resource: stack.resolve(endpoint.endpointArn),
    }] } });
  });

  test('a given ARN is kept', () => {
    const arn = 'arn:aws:sagemaker:us-east-1:111122223333:endpoint/swallow-70b';
    expect(ModelEndpoint.fromModelEndpointAttributes(testStack(), 'Served', { endpointName: 'swallow-70b', endpointArn: arn }).endpointArn).toBe(arn);
  });
});

describe('ModelEndpoint model data', () => {
  test('a model.tar.gz is served through the alpha ModelDataUrl, with read on that object only', () => {
    const built = buildImported({ modelDataUri: 's3://ckpt/llama/model.tar.gz' });
    built.template.hasResourceProperties('AWS::SageMaker::Model', {
      PrimaryContainer: { ModelDataUrl: 's3://ckpt/llama/model.tar.gz', ModelDataSource: Match.absent() },
    });
    const s3Statements = statements(built).filter((s) => String(s.Action).startsWith('s3:'));
    expect(s3Statements).toEqual([{
      Sid: 'ReadModelData', Effect: 'Allow', Action: 's3:GetObject',
      Resource: join('arn:', PARTITION, ':s3:::ckpt/llama/model.tar.gz'),
    }]);
    expect(nagFindings(built.stack)).toEqual([]);
  });

  test('a modelDataKey ending in .tar.gz is an object in the checkpoints bucket', () => {
    const { template, stack, bucket } = build({ modelDataKey: 'exports/model.tar.gz' });
    template.hasResourceProperties('AWS::SageMaker::Model', {
      PrimaryContainer: { ModelDataUrl: join('s3://', stack.resolve(bucket.bucketName), '/exports/model.tar.gz') },
    });
  });

  test('modelDataUri without checkpointsBucket: the bucket is imported by name, no KMS grant, prefix read only', () => {
    const stack = testStack();
    const endpoint = new ModelEndpoint(stack, 'Serving', { modelDataUri: 's3://other/hf/' });
    const built = { stack, endpoint, template: Template.fromStack(stack) };
    built.template.hasResourceProperties('AWS::SageMaker::Model', {
      PrimaryContainer: { ModelDataSource: { S3DataSource: { S3Uri: 's3://other/hf/', S3DataType: 'S3Prefix', CompressionType: 'None' } } },
    });
    const found = statements(built);
    expect(found.filter((s) => String(s.Action).startsWith('s3:'))).toEqual([
      { Sid: 'ReadModelData', Effect: 'Allow', Action: 's3:GetObject', Resource: join('arn:', PARTITION, ':s3:::other/hf/*') },
      {
        Sid: 'ListModelData', Effect: 'Allow', Action: 's3:ListBucket', Resource: join('arn:', PARTITION, ':s3:::other'),
        Condition: { StringLike: { 's3:prefix': ['hf/*'] } },
      },
    ]);
    expect(found.some((s) => String(s.Action).includes('kms:'))).toBe(false);
    expect(nagFindings(stack)).toEqual([]);
  });

  test('modelDataUri inside an imported bucket with a key: decrypt on that key', () => {
    const stack = testStack();
    const key = kms.Key.fromKeyArn(stack, 'Key', 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab');
    const endpoint = new ModelEndpoint(stack, 'Serving', {
      checkpointsBucket: s3.Bucket.fromBucketAttributes(stack, 'Ckpt', { bucketName: 'ckpt', encryptionKey: key }),
      modelDataUri: 's3://ckpt/llama/hf/',
    });
    expect(statements({ stack, endpoint, template: Template.fromStack(stack) })).toContainEqual(
      { Effect: 'Allow', Action: 'kms:Decrypt', Resource: key.keyArn });
  });

  test('modelDataUri against a checkpointsBucket whose name is a token: served as given, with a warning', () => {
    // Synthesis prints the warning report: assert it rather than print it.
    const printed = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    const { stack, bucket, template } = build({ modelDataKey: undefined, modelDataUri: 's3://ckpt/llama/hf/' });
    expect(printed).toHaveBeenCalledWith(expect.stringContaining('inference:modelDataBucketUnchecked'));
    template.hasResourceProperties('AWS::SageMaker::Model', {
      PrimaryContainer: { ModelDataSource: { S3DataSource: { S3Uri: 's3://ckpt/llama/hf/' } } },
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Sid: 'ReadModelData', Resource: join(stack.resolve(bucket.bucketArn), '/llama/hf/*') })]) },
    });
    Annotations.fromStack(stack).hasWarning('/Test/Serving', Match.stringLikeRegexp("names bucket 'ckpt'; checkpointsBucket's name is known only at deploy time"));
    printed.mockRestore();
  });
});

describe('ModelEndpoint image and container', () => {
  test('imageUri: the URI as given, pull scoped to its repository (a namespaced repository, another account)', () => {
    const uri = '123456789012.dkr.ecr.us-west-2.amazonaws.com/team/vllm@sha256:' + 'a'.repeat(64);
    const built = buildImported({ imageUri: uri });
    built.template.hasResourceProperties('AWS::SageMaker::Model', { PrimaryContainer: { Image: uri, Environment: Match.absent() } });
    expect(statements(built).filter((s) => String(s.Action).includes('ecr:'))).toEqual([
      {
        Effect: 'Allow',
        Action: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
        Resource: join('arn:', PARTITION, ':ecr:us-west-2:123456789012:repository/team/vllm'),
      },
      { Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' },
    ]);
  });

  test('image: an alpha ContainerImage from a repository of this stack, pull scoped to it', () => {
    const stack = testStack();
    const repository = new ecr.Repository(stack, 'Repo');
    const endpoint = new ModelEndpoint(stack, 'Serving', {
      checkpointsBucket: s3.Bucket.fromBucketName(stack, 'Ckpt', 'ckpt'),
      modelDataKey: 'llama/hf/',
      image: sagemaker.ContainerImage.fromEcrRepository(repository, 'vllm-0.8.4'),
      environment: { OPTION_ROLLING_BATCH: 'vllm' },
    });
    const built = { stack, endpoint, template: Template.fromStack(stack) };
    built.template.hasResourceProperties('AWS::SageMaker::Model', {
      PrimaryContainer: { Image: Match.anyValue(), Environment: { OPTION_ROLLING_BATCH: 'vllm' } },
    });
    expect(statements(built)).toContainEqual({
      Effect: 'Allow',
      Action: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
      Resource: stack.resolve(repository.repositoryArn),
    });
  });

  test('in a stack with an explicit region the default image account is a literal (no lookup, no map)', () => {
    const stack = new Stack(testApp(), 'Test', { env: { account: '111122223333', region: 'ap-northeast-1' } });
    new ModelEndpoint(stack, 'Serving', { modelDataUri: 's3://ckpt/llama/hf/' });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::SageMaker::Model', {
      PrimaryContainer: { Image: join('763104351884.dkr.ecr.ap-northeast-1.', { Ref: 'AWS::URLSuffix' }, '/djl-inference:0.33.0-lmi15.0.0-cu128') },
    });
    expect(template.toJSON().Mappings).toBeUndefined();
    expect(nagFindings(stack)).toEqual([]);
  });

  test('environment: merged over the default image\'s tensor-parallel setting, which it can override', () => {
    const { template } = buildImported({ environment: { OPTION_TENSOR_PARALLEL_DEGREE: '4', OPTION_MAX_MODEL_LEN: '8192' } });
    template.hasResourceProperties('AWS::SageMaker::Model', {
      PrimaryContainer: { Environment: { OPTION_TENSOR_PARALLEL_DEGREE: '4', OPTION_MAX_MODEL_LEN: '8192' } },
    });
  });

  test('instance type (P5 through InstanceType.of), count, timeouts', () => {
    const { template } = buildImported({
      instanceType: 'ml.p5.48xlarge',
      initialInstanceCount: 2,
      containerStartupHealthCheckTimeout: Duration.minutes(20),
      modelDataDownloadTimeout: Duration.hours(1),
    });
    template.hasResourceProperties('AWS::SageMaker::EndpointConfig', {
      ProductionVariants: [Match.objectLike({
        InstanceType: 'ml.p5.48xlarge', InitialInstanceCount: 2,
        ContainerStartupHealthCheckTimeoutInSeconds: 1200, ModelDataDownloadTimeoutInSeconds: 3600,
      })],
    });
  });

  test('endpointName: used for the endpoint and for the log-group grant', () => {
    const built = buildImported({ endpointName: 'swallow-70b' });
    built.template.hasResourceProperties('AWS::SageMaker::Endpoint', { EndpointName: 'swallow-70b' });
    expect(statements(built)).toContainEqual(expect.objectContaining({
      Sid: 'WriteEndpointLogs', Resource: [logGroupArn('swallow-70b'), logGroupArn('swallow-70b', ':*')],
    }));
    expect(nagFindings(built.stack)).toEqual([]);
  });

  test('kmsKey on an instance type without instance storage encrypts the volume', () => {
    const stack = testStack();
    const key = new kms.Key(stack, 'VolumeKey', { enableKeyRotation: true });
    new ModelEndpoint(stack, 'Serving', {
      checkpointsBucket: s3.Bucket.fromBucketName(stack, 'Ckpt', 'ckpt'),
      modelDataKey: 'llama/hf/',
      instanceType: 'ml.inf2.48xlarge',
      kmsKey: key,
    });
    Template.fromStack(stack).hasResourceProperties('AWS::SageMaker::EndpointConfig', {
      KmsKeyId: stack.resolve(key.keyArn),
    });
  });
});

describe('ModelEndpoint autoscaling', () => {
  const { stack, endpoint, template } = build({
    initialInstanceCount: 2,
    autoScaling: {
      minCapacity: 1, maxCapacity: 4, targetInvocationsPerInstancePerMinute: 120,
      scaleInCooldown: Duration.minutes(15), scaleOutCooldown: Duration.minutes(5),
    },
  });
  const endpointId = stack.getLogicalId(endpoint.endpoint.node.findChild('Endpoint') as CfnEndpoint);

  test('a scalable target on the variant\'s instance count, through the service-linked role', () => {
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
      ServiceNamespace: 'sagemaker',
      ScalableDimension: 'sagemaker:variant:DesiredInstanceCount',
      ResourceId: join('endpoint/', { 'Fn::GetAtt': [endpointId, 'EndpointName'] }, '/variant/AllTraffic'),
      MinCapacity: 1,
      MaxCapacity: 4,
      RoleARN: join('arn:', PARTITION, ':iam::', ACCOUNT,
        ':role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint'),
    });
    expect(endpoint.scalableInstanceCount).toBeDefined();
  });

  test('target tracking on SageMakerVariantInvocationsPerInstance at the given invocations per minute', () => {
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      PolicyType: 'TargetTrackingScaling',
      TargetTrackingScalingPolicyConfiguration: {
        PredefinedMetricSpecification: { PredefinedMetricType: 'SageMakerVariantInvocationsPerInstance' },
        TargetValue: 120,
        ScaleInCooldown: 900,
        ScaleOutCooldown: 300,
      },
    });
    template.resourceCountIs('AWS::ApplicationAutoScaling::ScalingPolicy', 1);
  });
});

describe('ModelEndpoint data capture', () => {
  test('to a prefix of an encrypted bucket: config on the L1, write-only grant on the prefix, encrypt on its key', () => {
    const stack = testStack();
    const captureKey = new kms.Key(stack, 'CaptureKey', { enableKeyRotation: true });
    const captures = new TrainingBucket(stack, 'Captures', { encryptionKey: captureKey, accessLogs: new AccessLogsBucket(stack, 'CaptureLogs') });
    const { endpoint, template } = build({ dataCapture: { bucket: captures, prefix: 'capture/swallow/', samplingPercentage: 20 } }, stack);
    template.hasResourceProperties('AWS::SageMaker::EndpointConfig', {
      DataCaptureConfig: {
        EnableCapture: true,
        DestinationS3Uri: join('s3://', stack.resolve(captures.bucketName), '/capture/swallow'),
        InitialSamplingPercentage: 20,
        CaptureOptions: [{ CaptureMode: 'Input' }, { CaptureMode: 'Output' }],
        CaptureContentTypeHeader: { JsonContentTypes: ['application/json'] },
        KmsKeyId: stack.resolve(captureKey.keyArn),
      },
    });
    const found = statements({ stack, endpoint, template });
    expect(found).toContainEqual({
      Sid: 'WriteDataCapture', Effect: 'Allow', Action: 's3:PutObject', Resource: join(stack.resolve(captures.bucketArn), '/capture/swallow/*'),
    });
    expect(found).toContainEqual({ Effect: 'Allow', Action: ['kms:Encrypt', 'kms:GenerateDataKey'], Resource: stack.resolve(captureKey.keyArn) });
    expect(nagFindings(stack)).toEqual([]);
  });

  test('defaults: prefix data-capture, 100 percent; captureModes selects what is recorded', () => {
    const { template, stack } = buildImported((s) => ({
      dataCapture: { bucket: s3.Bucket.fromBucketName(s, 'Plain', 'captures'), captureModes: [DataCaptureMode.INPUT] },
    }));
    template.hasResourceProperties('AWS::SageMaker::EndpointConfig', {
      DataCaptureConfig: {
        DestinationS3Uri: 's3://captures/data-capture',
        InitialSamplingPercentage: 100,
        CaptureOptions: [{ CaptureMode: 'Input' }],
        KmsKeyId: Match.absent(),
      },
    });
    expect(nagFindings(stack)).toEqual([]);
  });
});

describe('ModelEndpoint with every option', () => {
  function everything(app = testApp()): Stack {
    const stack = new Stack(app, 'Test');
    const captures = s3.Bucket.fromBucketName(stack, 'Captures', 'captures');
    build({
      instanceType: 'ml.g5.48xlarge',
      initialInstanceCount: 2,
      environment: { OPTION_MAX_MODEL_LEN: '8192' },
      autoScaling: { minCapacity: 1, maxCapacity: 4, targetInvocationsPerInstancePerMinute: 30 },
      dataCapture: { bucket: captures, samplingPercentage: 10 },
      endpointName: 'swallow-70b',
    }, stack);
    return stack;
  }

  test('cdk-nag: no unacknowledged findings', () => {
    expect(nagFindings(everything())).toEqual([]);
  });

  describe('CloudFormation schema validation', () => {
    // The suites run with CDK_VALIDATION=false (test/setup-env.ts); the overrides are checked against the schema here.
    beforeEach(() => { delete process.env.CDK_VALIDATION; });
    afterEach(() => { process.env.CDK_VALIDATION = 'false'; });

    test('the escape-hatch properties (ModelDataSource, timeouts, DataCaptureConfig) are valid', () => {
      const app = testApp();
      everything(app);
      expect(() => app.synth()).not.toThrow();
    });
  });
});

describe('ModelEndpoint validation at synth', () => {
  const error = (props: Partial<ModelEndpointProps> | ((stack: Stack) => Partial<ModelEndpointProps>)) => () => buildImported(props);

  test('instanceType must be in the catalogue: a typo fails the synth with the closest type', () => {
    expect(error({ instanceType: 'ml.g5.48xlage' })).toThrow(/^Test\/Serving: instanceType must be a SageMaker real-time inference instance type \(ENDPOINT_INSTANCE_TYPES; families .*g5.*p5.*\), got 'ml.g5.48xlage': did you mean 'ml.g5.48xlarge'\?$/);
    expect(error({ instanceType: 'ml.p5.48xlarge' })).not.toThrow();
  });

  test('every mistake of the endpoint at once, one line each; a number from context is named as a string', () => {
    expect(error({ instanceType: 'ml.g5.48xlage', initialInstanceCount: '2' as unknown as number, endpointName: '-bad' })).toThrow(
      new RegExp(['^Test/Serving: instanceType must be a SageMaker .*', "Test/Serving: initialInstanceCount must be a number, got string '2'",
        "Test/Serving: endpointName must be 1-63 letters, digits and hyphens, starting and ending with a letter or digit, got '-bad'$"].join('\n')));
  });

  test('instanceType must be ml.<family>.<size>', () => {
    expect(error({ instanceType: 'p5.48xlarge' })).toThrow(
      "Test/Serving: instanceType must be of the form ml.<family>.<size>, e.g. ml.g5.12xlarge, got 'p5.48xlarge'");
  });

  test('initialInstanceCount at least 1', () => {
    expect(error({ initialInstanceCount: 0 })).toThrow('Test/Serving: initialInstanceCount must be an integer of at least 1, got 0');
  });

  test('autoScaling.minCapacity at least 1', () => {
    expect(error({ autoScaling: { minCapacity: 0, maxCapacity: 2, targetInvocationsPerInstancePerMinute: 60 } })).toThrow(
      'Test/Serving: autoScaling.minCapacity must be an integer of at least 1, got 0');
  });

  test('autoScaling.maxCapacity at least minCapacity', () => {
    expect(error({ initialInstanceCount: 2, autoScaling: { minCapacity: 3, maxCapacity: 2, targetInvocationsPerInstancePerMinute: 60 } }))
      .toThrow('Test/Serving: autoScaling.maxCapacity must be at least autoScaling.minCapacity (3), got 2');
  });

  test('autoScaling.minCapacity at most initialInstanceCount', () => {
    expect(error({ autoScaling: { minCapacity: 2, maxCapacity: 4, targetInvocationsPerInstancePerMinute: 60 } })).toThrow(
      'Test/Serving: autoScaling.minCapacity must be at most initialInstanceCount (1), got 2');
  });

  test('autoScaling.maxCapacity at least initialInstanceCount', () => {
    expect(error({ initialInstanceCount: 3, autoScaling: { minCapacity: 1, maxCapacity: 2, targetInvocationsPerInstancePerMinute: 60 } }))
      .toThrow('Test/Serving: autoScaling.maxCapacity must be at least initialInstanceCount (3), got 2');
  });

  test('autoScaling target greater than 0', () => {
    expect(error({ autoScaling: { minCapacity: 1, maxCapacity: 2, targetInvocationsPerInstancePerMinute: 0 } })).toThrow(
      'Test/Serving: autoScaling.targetInvocationsPerInstancePerMinute must be greater than 0, got 0');
  });

  test('dataCapture.samplingPercentage from 1 to 100', () => {
    const capture = (samplingPercentage: number) => (stack: Stack) => ({
      dataCapture: { bucket: s3.Bucket.fromBucketName(stack, 'Captures', 'captures'), samplingPercentage },
    });
    expect(error(capture(0))).toThrow(
      'Test/Serving: dataCapture.samplingPercentage must be an integer from 1 to 100, got 0');
    expect(error(capture(101))).toThrow(
      'Test/Serving: dataCapture.samplingPercentage must be an integer from 1 to 100, got 101');
  });

  test('dataCapture.prefix must not start with a slash', () => {
    expect(error((stack) => ({ dataCapture: { bucket: s3.Bucket.fromBucketName(stack, 'Captures', 'captures'), prefix: '/capture' } })))
      .toThrow(
      "Test/Serving: dataCapture.prefix must be a key prefix not starting with '/', e.g. 'data-capture', got '/capture'");
  });

  test('modelDataUri outside the checkpoints bucket names both buckets', () => {
    expect(error({ modelDataUri: 's3://other-bucket/x/' })).toThrow(
      "Test/Serving: modelDataUri must be in checkpointsBucket 'ckpt', got 's3://other-bucket/x/' (bucket 'other-bucket')");
  });

  test('modelDataUri must be an s3:// prefix ending in / or a .tar.gz object', () => {
    const message = (uri: string) => "Test/Serving: modelDataUri must be an s3:// URI of a prefix ending in '/' (uncompressed "
      + `weights) or of an object ending in '.tar.gz', with a literal bucket name, got '${uri}'`;
    expect(error({ modelDataUri: 's3://ckpt/llama/model.safetensors' })).toThrow(message('s3://ckpt/llama/model.safetensors'));
    expect(error({ modelDataUri: 'https://ckpt.s3.amazonaws.com/llama/' })).toThrow(message('https://ckpt.s3.amazonaws.com/llama/'));
    expect(error({ modelDataUri: 's3://ckpt/' })).toThrow(message('s3://ckpt/'));
  });

  test('modelDataKey must be a prefix ending in / or a .tar.gz key', () => {
    expect(error({ modelDataKey: 'llama/model.safetensors' })).toThrow("Test/Serving: modelDataKey must be a key prefix ending in '/' "
      + "(uncompressed weights) or an object key ending in '.tar.gz', not starting with '/', got 'llama/model.safetensors'");
  });

  test('a modelDataKey known only at deploy time still needs a literal suffix', () => {
    const key = Lazy.string({ produce: () => 'llama/hf/' });
    expect(error({ modelDataKey: key })).toThrow(/^Test\/Serving: modelDataKey must end in '\/' \(prefix\) or '\.tar\.gz' \(object\), got '\$\{Token/);
  });

  test('exactly one of modelDataKey and modelDataUri', () => {
    expect(error({ modelDataKey: 'llama/hf/', modelDataUri: 's3://ckpt/llama/hf/' })).toThrow(
      'Test/Serving: modelDataKey or modelDataUri must be given (exactly one), got both');
    expect(() => new ModelEndpoint(testStack(), 'Serving', {})).toThrow(
      'Test/Serving: modelDataKey or modelDataUri must be given (exactly one), got neither');
  });

  test('modelDataKey needs checkpointsBucket', () => {
    expect(() => new ModelEndpoint(testStack(), 'Serving', { modelDataKey: 'llama/hf/' })).toThrow(
      "Test/Serving: checkpointsBucket must be given with modelDataKey, got modelDataKey 'llama/hf/' alone");
  });

  test('imageUri must be a literal ECR image URI', () => {
    expect(error({ imageUri: 'vllm/vllm-openai:latest' })).toThrow("Test/Serving: imageUri must be a literal ECR image URI "
      + "'<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>' (or '@sha256:<digest>'), got 'vllm/vllm-openai:latest'");
  });

  test('image and imageUri are exclusive', () => {
    const uri = '123456789012.dkr.ecr.us-east-1.amazonaws.com/vllm:1';
    expect(error({ imageUri: uri, image: sagemaker.ContainerImage.fromDlc('djl-inference', 'x') })).toThrow(
      `Test/Serving: imageUri must not be given with image, got '${uri}' and an image`);
  });

  test('kmsKey is refused for instance types with NVMe instance storage', () => {
    const stack = testStack();
    expect(() => new ModelEndpoint(stack, 'Serving', {
      modelDataUri: 's3://ckpt/llama/hf/',
      kmsKey: new kms.Key(stack, 'K'),
    })).toThrow('Test/Serving: kmsKey must not be given for ml.p4d.24xlarge: its NVMe instance storage is encrypted by the '
      + 'hardware and SageMaker refuses a KmsKeyId for it; use a family without instance storage or omit kmsKey');
  });

  test('endpointName: letters, digits and hyphens, up to 63', () => {
    expect(error({ endpointName: 'swallow_70b' })).toThrow("Test/Serving: endpointName must be 1-63 letters, digits and hyphens, "
      + "starting and ending with a letter or digit, got 'swallow_70b'");
  });

  test('timeouts from 60 seconds to 1 hour', () => {
    expect(error({ containerStartupHealthCheckTimeout: Duration.hours(2) })).toThrow(
      'Test/Serving: containerStartupHealthCheckTimeout must be an integer from 60 to 3600, got 7200');
    expect(error({ modelDataDownloadTimeout: Duration.seconds(30) })).toThrow(
      'Test/Serving: modelDataDownloadTimeout must be an integer from 60 to 3600, got 30');
  });
});
