import * as sagemaker from '@aws-cdk/aws-sagemaker-alpha';
import { Annotations, ArnFormat, Duration, IResource, Names, RemovalPolicy, Resource, Stack, Token } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { CfnEndpointConfig, CfnModel } from 'aws-cdk-lib/aws-sagemaker';
import { Construct, IConstruct } from 'constructs';
import { CollectedErrors, collectConfigurationErrors, ConfigurationError, reportError } from '../core/configuration-error';
import { isToken, requireIntegerInRange, requireMatch, requireNumber } from '../core/validation';
import { closestEndpointInstanceType, ENDPOINT_INSTANCE_TYPES } from './endpoint-instance-types';
import { acknowledgeWildcardResources } from '../core/nag-acknowledgement';

/** A SageMaker real-time endpoint, new (`ModelEndpoint`) or imported (`fromModelEndpointAttributes`). */
export interface IModelEndpoint extends IResource {
  /** Name of the endpoint. */
  readonly endpointName: string;
  /** ARN of the endpoint. */
  readonly endpointArn: string;
  /** Let `grantee` invoke the endpoint, streaming included. */
  grantInvoke(grantee: iam.IGrantable): iam.Grant;
}

/** Attributes of an existing endpoint. */
export interface ModelEndpointAttributes {
  /** Name of the endpoint. */
  readonly endpointName: string;
  /**
   * ARN of the endpoint.
   * @default - `arn:<partition>:sagemaker:<region>:<account>:endpoint/<endpointName>` of the scope's stack
   */
  readonly endpointArn?: string;
}

/** What data capture records of each invocation. */
export enum DataCaptureMode {
  /** The request payload. */
  INPUT = 'Input',
  /** The response payload. */
  OUTPUT = 'Output',
}

/** Target tracking on `SageMakerVariantInvocationsPerInstance`. */
export interface ModelEndpointAutoScaling {
  /** Fewest instances; at least 1 and at most `initialInstanceCount`. */
  readonly minCapacity: number;
  /** Most instances; at least `minCapacity` and `initialInstanceCount`. */
  readonly maxCapacity: number;
  /**
   * Invocations per instance per minute to hold the variant at (the unit of the CloudWatch metric). Find it by
   * load-testing one instance: peak requests/s x 60 x a safety factor (AWS suggests 0.5).
   */
  readonly targetInvocationsPerInstancePerMinute: number;
  /**
   * Wait after a scale-in before the next one.
   * @default - the Application Auto Scaling default (300 seconds)
   */
  readonly scaleInCooldown?: Duration;
  /**
   * Wait after a scale-out before the next one. An LLM instance takes minutes to download and load the weights.
   * @default - the Application Auto Scaling default (300 seconds)
   */
  readonly scaleOutCooldown?: Duration;
}

/** Where and how much of the traffic the endpoint records (SageMaker Model Monitor data capture). */
export interface ModelEndpointDataCapture {
  /** Bucket the captures are written to; its KMS key, when it has one, encrypts them. */
  readonly bucket: s3.IBucket;
  /**
   * Key prefix in `bucket`; SageMaker writes `<prefix>/<endpoint>/<variant>/yyyy/mm/dd/hh/*.jsonl` under it.
   * @default 'data-capture'
   */
  readonly prefix?: string;
  /**
   * Share of invocations captured, percent (1-100). Prompts and completions can hold personal data.
   * @default 100
   */
  readonly samplingPercentage?: number;
  /**
   * What to capture: the requests, the responses, or both.
   * @default [DataCaptureMode.INPUT, DataCaptureMode.OUTPUT]
   */
  readonly captureModes?: DataCaptureMode[];
}

export interface ModelEndpointProps {
  /**
   * The bucket holding the checkpoint. The model's role is granted read on the model data only, and decrypt on
   * the bucket's KMS key when it has one. Required with `modelDataKey`; with `modelDataUri` the URI must point
   * into it.
   * @default - the bucket named in `modelDataUri`, imported by name (no KMS grant: pass the bucket, with its
   * `encryptionKey`, when it is SSE-KMS encrypted)
   */
  readonly checkpointsBucket?: s3.IBucket;
  /**
   * Key of the model data in `checkpointsBucket`: a prefix ending in `/` holding uncompressed Hugging Face
   * weights (served as an S3 prefix, nothing to pack), or an object key ending in `.tar.gz`.
   * Give exactly one of `modelDataKey` and `modelDataUri`.
   * @default - `modelDataUri`
   */
  readonly modelDataKey?: string;
  /**
   * The model data as an S3 URI: `s3://bucket/prefix/` (uncompressed weights) or `s3://bucket/key.tar.gz`.
   * Give exactly one of `modelDataKey` and `modelDataUri`.
   * @default - `modelDataKey`
   */
  readonly modelDataUri?: string;
  /**
   * The serving container. Pull rights are scoped to its repository by the image itself
   * (`ContainerImage.fromEcrRepository`, `fromDlc`); `fromAsset` needs Docker at synth.
   * Give at most one of `image` and `imageUri`.
   * @default - the LMI (DJL Serving + vLLM) deep learning container `djl-inference:0.33.0-lmi15.0.0-cu128`
   * from the AWS DLC account of the stack's region (`ModelEndpoint.DEFAULT_IMAGE_TAG`); pin your own
   */
  readonly image?: sagemaker.ContainerImage;
  /**
   * The serving container as a literal ECR image URI, `<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>`
   * or `…@sha256:<digest>`; pull rights are scoped to that repository. For an image known only at deploy time,
   * use `image: ContainerImage.fromEcrRepository(…)`.
   * @default - `image`
   */
  readonly imageUri?: string;
  /**
   * Instance type, `ml.<family>.<size>`. A 70B model in BF16 needs ~141 GB of GPU memory for the weights alone,
   * plus KV cache: `ml.p4d.24xlarge` (8 x A100 40 GB = 320 GB) serves it with room for long contexts;
   * `ml.g5.48xlarge` (192 GB) fits it with short contexts; `ml.p5.48xlarge` (640 GB); `ml.g5.12xlarge` (96 GB)
   * suits models up to ~30B.
   * @default 'ml.p4d.24xlarge'
   */
  readonly instanceType?: string;
  /**
   * Instances started with the endpoint (each billed per second while the endpoint exists, idle or not).
   * @default 1
   */
  readonly initialInstanceCount?: number;
  /**
   * Environment of the container, e.g. LMI's `OPTION_TENSOR_PARALLEL_DEGREE`, `OPTION_MAX_MODEL_LEN`,
   * `OPTION_DTYPE`. The model data is downloaded to `/opt/ml/model`, where LMI finds it without `HF_MODEL_ID`.
   * With the default image, `OPTION_TENSOR_PARALLEL_DEGREE` is `'max'` (shard over every GPU) unless set here.
   * @default - none (with the default image: `{ OPTION_TENSOR_PARALLEL_DEGREE: 'max' }`)
   */
  readonly environment?: { [name: string]: string };
  /**
   * Scale the instance count on invocations per instance.
   * @default - a fixed `initialInstanceCount`
   */
  readonly autoScaling?: ModelEndpointAutoScaling;
  /**
   * Record requests and responses to S3.
   * @default - no data capture
   */
  readonly dataCapture?: ModelEndpointDataCapture;
  /**
   * Key for the instances' EBS storage volume. Not allowed for instance types with NVMe instance storage
   * (g4dn, g5, g6, g6e, p3dn, p4d, p4de, p5, p5e, p5en, trn1, c5d, m5d, r5d…), which the hardware encrypts.
   * The deploying principal needs `kms:CreateGrant` and `kms:DescribeKey` on it.
   * @default - SageMaker's own encryption of the volume (instance storage: hardware encryption)
   */
  readonly kmsKey?: kms.IKey;
  /**
   * Name of the endpoint (what clients invoke): 1-63 letters, digits and hyphens.
   * @default - derived from the construct path, e.g. `Serving-Llama-Endpoint-1A2B3C4D`, so the role's
   * CloudWatch Logs grant can name the endpoint's log group
   */
  readonly endpointName?: string;
  /**
   * Time the container has to answer `/ping` after start (download excluded); loading 70B weights and capturing
   * CUDA graphs takes minutes. 60 seconds to 1 hour.
   * @default Duration.minutes(30)
   */
  readonly containerStartupHealthCheckTimeout?: Duration;
  /**
   * Time to download the model data to each instance. 60 seconds to 1 hour.
   * @default Duration.minutes(30)
   */
  readonly modelDataDownloadTimeout?: Duration;
}

/** Families whose NVMe instance storage is hardware-encrypted: SageMaker refuses an endpoint-config KmsKeyId. */
const LOCAL_STORAGE_FAMILIES = [
  'c5d', 'm5d', 'r5d', 'g4dn', 'g5', 'g6', 'g6e', 'p3dn', 'p4d', 'p4de', 'p5', 'p5e', 'p5en', 'trn1', 'trn1n',
];
const INSTANCE_TYPE = /^ml\.([a-z][a-z0-9-]*)\.([a-z0-9]+)$/;
const ENDPOINT_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;
const ECR_IMAGE_URI = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/([a-z0-9][a-z0-9._/-]*)(?::[\w][\w.-]{0,127}|@sha256:[a-f0-9]{64})$/;
const S3_URI = /^s3:\/\/([^/]+)\/(.+)$/;

/** Where the weights are and how SageMaker must fetch them. */
interface ModelDataLocation {
  readonly bucket: s3.IBucket;
  readonly key: string;
  readonly uri: string;
  /** An S3 prefix of uncompressed files (else a `.tar.gz` object). */
  readonly isPrefix: boolean;
}

/**
 * A SageMaker real-time endpoint serving a trained checkpoint from S3 with `@aws-cdk/aws-sagemaker-alpha`:
 * uncompressed Hugging Face weights under a prefix (or a `model.tar.gz`), an LMI/vLLM container by default,
 * an execution role that reads only that model data, and optional invocation-based autoscaling and data capture.
 *
 * The endpoint bills for every instance for as long as it exists, serving or idle.
 */
export class ModelEndpoint extends Resource implements IModelEndpoint, iam.IGrantable {
  /** The default image's repository in the AWS Deep Learning Containers registry. */
  public static readonly DEFAULT_IMAGE_REPOSITORY = 'djl-inference';
  /** The default image's tag: LMI v15 (DJL Serving 0.33.0, vLLM 0.8.4, CUDA 12.8). */
  public static readonly DEFAULT_IMAGE_TAG = '0.33.0-lmi15.0.0-cu128';
  /** @see ModelEndpointProps.instanceType */
  public static readonly DEFAULT_INSTANCE_TYPE = 'ml.p4d.24xlarge';
  /** The one production variant; its name is what metrics and scaling refer to. */
  public static readonly VARIANT_NAME = 'AllTraffic';

  /** Refer to an existing endpoint, e.g. to let a client invoke it. */
  public static fromModelEndpointAttributes(scope: Construct, id: string, attrs: ModelEndpointAttributes): IModelEndpoint {
    class Imported extends Resource implements IModelEndpoint {
      public readonly endpointName = attrs.endpointName;
      public readonly endpointArn = attrs.endpointArn ?? Stack.of(scope).formatArn({
        service: 'sagemaker', resource: 'endpoint', resourceName: attrs.endpointName, arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
      });
      public grantInvoke(grantee: iam.IGrantable): iam.Grant {
        return grantInvoke(grantee, this.endpointArn);
      }
    }
    return new Imported(scope, id);
  }

  /** Name of the endpoint (a reference: consumers deploy after it). */
  public readonly endpointName: string;
  public readonly endpointArn: string;
  /** The execution role the model runs as. */
  public readonly role: iam.IRole;
  public readonly grantPrincipal: iam.IPrincipal;
  /** Where the served model data is. */
  public readonly modelDataUri: string;
  public readonly model: sagemaker.Model;
  public readonly endpointConfig: sagemaker.EndpointConfig;
  /** The alpha endpoint (metrics through `endpoint.findInstanceProductionVariant(ModelEndpoint.VARIANT_NAME)`). */
  public readonly endpoint: sagemaker.Endpoint;
  /** The scaling target, to add schedules; undefined without `autoScaling`. */
  public readonly scalableInstanceCount?: sagemaker.ScalableInstanceCount;

  constructor(scope: Construct, id: string, props: ModelEndpointProps) {
    super(scope, id);
    const instanceType = props.instanceType ?? ModelEndpoint.DEFAULT_INSTANCE_TYPE;
    const initialInstanceCount = props.initialInstanceCount ?? 1;
    const endpointName = props.endpointName ?? Names.uniqueResourceName(this, { maxLength: 63, separator: '-' });
    let startupSeconds = 0;
    let downloadSeconds = 0;
    collectConfigurationErrors(this, () => {
      validateInstanceType(this, instanceType);
      requireAtLeast(this, 'initialInstanceCount', initialInstanceCount, 1);
      if (props.autoScaling) validateAutoScaling(this, props.autoScaling, initialInstanceCount);
      if (props.dataCapture?.samplingPercentage !== undefined) {
        requireIntegerInRange(this, 'dataCapture.samplingPercentage', props.dataCapture.samplingPercentage, 1, 100);
      }
      if (props.kmsKey) validateVolumeKey(this, instanceType);
      startupSeconds = timeoutSeconds(this, 'containerStartupHealthCheckTimeout', props.containerStartupHealthCheckTimeout);
      downloadSeconds = timeoutSeconds(this, 'modelDataDownloadTimeout', props.modelDataDownloadTimeout);
      requireMatch(this, 'endpointName', endpointName, ENDPOINT_NAME, '1-63 letters, digits and hyphens, starting and ending with a letter or digit');
    }, CollectedErrors.THROW); // the alpha L2s would throw their own messages on these values
    const modelData = this.locateModelData(props);
    const image = this.resolveImage(props);
    this.modelDataUri = modelData.uri;

    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com'),
      description: `${this.node.path}: SageMaker model execution role (reads the model data only)`,
    });
    this.role = role;
    this.grantPrincipal = role;
    this.grantModelDataRead(role, modelData);
    this.grantEndpointLogs(role, endpointName);

    // A role of our own: without one the alpha Model creates a role with AmazonSageMakerFullAccess.
    this.model = new sagemaker.Model(this, 'Model', {
      role,
      containers: [{
        image,
        environment: props.image || props.imageUri
          ? props.environment
          : { OPTION_TENSOR_PARALLEL_DEGREE: 'max', ...props.environment },
        // The alpha ModelData renders only ModelDataUrl (a .tar.gz); a prefix goes in ModelDataSource below.
        modelData: modelData.isPrefix ? undefined : new UrlModelData(modelData.uri),
      }],
    });
    if (modelData.isPrefix) {
      // Escape hatch: @aws-cdk/aws-sagemaker-alpha 2.159.1 has no ModelDataSource (uncompressed S3 prefix).
      const cfnModel = this.model.node.findChild('Model') as CfnModel;
      cfnModel.addPropertyOverride('PrimaryContainer.ModelDataSource', {
        S3DataSource: { S3Uri: modelData.uri, S3DataType: 'S3Prefix', CompressionType: 'None' },
      });
    }

    this.endpointConfig = new sagemaker.EndpointConfig(this, 'EndpointConfig', {
      encryptionKey: props.kmsKey,
      instanceProductionVariants: [{
        variantName: ModelEndpoint.VARIANT_NAME,
        model: this.model,
        instanceType: sagemaker.InstanceType.of(instanceType),
        initialInstanceCount,
      }],
    });
    const cfnConfig = this.endpointConfig.node.findChild('EndpointConfig') as CfnEndpointConfig;
    // Escape hatch: the alpha's production variant has no startup or download timeouts (needed for 70B loads).
    cfnConfig.addPropertyOverride('ProductionVariants.0.ContainerStartupHealthCheckTimeoutInSeconds', startupSeconds);
    cfnConfig.addPropertyOverride('ProductionVariants.0.ModelDataDownloadTimeoutInSeconds', downloadSeconds);
    if (props.dataCapture) this.configureDataCapture(cfnConfig, role, props.dataCapture);

    this.endpoint = new sagemaker.Endpoint(this, 'Resource', { endpointName, endpointConfig: this.endpointConfig });
    this.endpointName = this.endpoint.endpointName;
    this.endpointArn = this.endpoint.endpointArn;
    if (props.autoScaling) this.scalableInstanceCount = this.configureAutoScaling(props.autoScaling);
  }

  /**
   * Let `grantee` call the endpoint: `sagemaker:InvokeEndpoint` and, for token streaming,
   * `sagemaker:InvokeEndpointWithResponseStream`.
   */
  public grantInvoke(grantee: iam.IGrantable): iam.Grant {
    return grantInvoke(grantee, this.endpointArn);
  }

  /** On the endpoint (the default child is the alpha Endpoint, not its CloudFormation resource). */
  public applyRemovalPolicy(policy: RemovalPolicy): void {
    this.endpoint.applyRemovalPolicy(policy);
  }

  private locateModelData(props: ModelEndpointProps): ModelDataLocation {
    const { modelDataKey: key, modelDataUri: uri, checkpointsBucket: bucket } = props;
    if ((key === undefined) === (uri === undefined)) {
      throw new ConfigurationError(this, 'modelDataKey', `or modelDataUri must be given (exactly one), got ${key === undefined ? 'neither' : 'both'}`);
    }
    if (key !== undefined) {
      if (!bucket) {
        throw new ConfigurationError(this, 'checkpointsBucket', `must be given with modelDataKey, got modelDataKey '${key}' alone`);
      }
      requireMatch(this, 'modelDataKey', key, /^[^/].*(\/|\.tar\.gz)$/,
        "a key prefix ending in '/' (uncompressed weights) or an object key ending in '.tar.gz', not starting with '/'");
      return { bucket, key, uri: `s3://${bucket.bucketName}/${key}`, isPrefix: modelDataShape(this, 'modelDataKey', key) };
    }
    const parsed = S3_URI.exec(uri!);
    if (!parsed || Token.isUnresolved(parsed[1]) || !/(\/|\.tar\.gz)$/.test(uri!)) {
      throw new ConfigurationError(this, 'modelDataUri', "must be an s3:// URI of a prefix ending in '/' (uncompressed weights) "
        + `or of an object ending in '.tar.gz', with a literal bucket name, got '${uri}'`);
    }
    const [, bucketName, objectKey] = parsed;
    if (bucket && !isToken(bucket.bucketName) && bucket.bucketName !== bucketName) {
      throw new ConfigurationError(this, 'modelDataUri', `must be in checkpointsBucket '${bucket.bucketName}', got '${uri}' `
        + `(bucket '${bucketName}')`);
    }
    if (bucket && isToken(bucket.bucketName)) {
      Annotations.of(this).addWarningV2('@cdk-hyperpod-training/inference:modelDataBucketUnchecked',
        `modelDataUri '${uri}' names bucket '${bucketName}'; checkpointsBucket's name is known only at deploy time, so `
        + 'the construct cannot check that they match. Prefer modelDataKey with checkpointsBucket.');
    }
    return {
      bucket: bucket ?? s3.Bucket.fromBucketName(this, 'ModelDataBucket', bucketName),
      key: objectKey,
      uri: uri!,
      isPrefix: modelDataShape(this, 'modelDataUri', uri!),
    };
  }

  private resolveImage(props: ModelEndpointProps): sagemaker.ContainerImage {
    if (props.image && props.imageUri) {
      throw new ConfigurationError(this, 'imageUri', `must not be given with image, got '${props.imageUri}' and an image`);
    }
    if (props.image) return props.image;
    if (props.imageUri === undefined) {
      return sagemaker.ContainerImage.fromDlc(ModelEndpoint.DEFAULT_IMAGE_REPOSITORY, ModelEndpoint.DEFAULT_IMAGE_TAG);
    }
    const parsed = ECR_IMAGE_URI.exec(props.imageUri);
    if (!parsed) {
      throw new ConfigurationError(this, 'imageUri', 'must be a literal ECR image URI '
        + `'<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>' (or '@sha256:<digest>'), got '${props.imageUri}'`);
    }
    const [, account, region, repositoryName] = parsed;
    const repository = ecr.Repository.fromRepositoryAttributes(this, 'ImageRepository', {
      repositoryName,
      repositoryArn: Stack.of(this).formatArn({ service: 'ecr', account, region, resource: 'repository', resourceName: repositoryName }),
    });
    return new EcrUriImage(props.imageUri, repository);
  }

  /** Read on exactly the model data, and decrypt on the bucket's key. */
  private grantModelDataRead(role: iam.Role, data: ModelDataLocation): void {
    const objects = data.bucket.arnForObjects(data.isPrefix ? `${data.key}*` : data.key);
    role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'ReadModelData', actions: ['s3:GetObject'], resources: [objects] }));
    if (data.isPrefix) {
      role.addToPrincipalPolicy(new iam.PolicyStatement({
        sid: 'ListModelData',
        actions: ['s3:ListBucket'],
        resources: [data.bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${data.key}*`] } },
      }));
    }
    data.bucket.encryptionKey?.grantDecrypt(role);
    if (data.isPrefix) {
      this.acknowledgeWildcard(role, objects, 'SageMaker downloads every object under the model-data prefix: the files '
        + 'of one Hugging Face checkpoint (config, tokenizer, safetensors shards), whose names vary by model.');
    }
  }

  /** SageMaker writes the containers' stdout/stderr to `/aws/sagemaker/Endpoints/<name>` as the model's role. */
  private grantEndpointLogs(role: iam.Role, endpointName: string): void {
    const logGroup = Stack.of(this).formatArn({
      service: 'logs',
      resource: 'log-group',
      resourceName: `/aws/sagemaker/Endpoints/${endpointName}`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'WriteEndpointLogs',
      actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
      resources: [logGroup, `${logGroup}:*`],
    }));
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'PublishEndpointMetrics',
      actions: ['cloudwatch:PutMetricData'],
      resources: ['*'],
      conditions: { StringLike: { 'cloudwatch:namespace': '/aws/sagemaker/*' } },
    }));
    this.acknowledgeWildcard(role, `${logGroup}:*`,
      'SageMaker creates one log stream per instance; the grant is limited to this endpoint\'s log group.');
    // The image's pull grant adds ecr:GetAuthorizationToken on "*" as well.
    this.acknowledgeWildcard(role, '*', 'ecr:GetAuthorizationToken and cloudwatch:PutMetricData accept only "*"; '
      + 'the image pull itself is scoped to the repository, and metrics to SageMaker namespaces by condition.');
  }

  /** Escape hatch: @aws-cdk/aws-sagemaker-alpha 2.159.1 has no data capture; set it on the L1. */
  private configureDataCapture(cfnConfig: CfnEndpointConfig, role: iam.Role, capture: ModelEndpointDataCapture): void {
    const prefix = (capture.prefix ?? 'data-capture').replace(/\/+$/, '');
    requireMatch(this, 'dataCapture.prefix', prefix, /^[^/]/, "a key prefix not starting with '/', e.g. 'data-capture'");
    const key = capture.bucket.encryptionKey;
    cfnConfig.dataCaptureConfig = {
      enableCapture: true,
      destinationS3Uri: `s3://${capture.bucket.bucketName}/${prefix}`,
      initialSamplingPercentage: capture.samplingPercentage ?? 100,
      captureOptions: (capture.captureModes ?? [DataCaptureMode.INPUT, DataCaptureMode.OUTPUT]).map((captureMode) => ({ captureMode })),
      // Record JSON bodies as text rather than base64.
      captureContentTypeHeader: { jsonContentTypes: ['application/json'] },
      kmsKeyId: key?.keyArn,
    };
    const objects = capture.bucket.arnForObjects(`${prefix}/*`);
    role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'WriteDataCapture', actions: ['s3:PutObject'], resources: [objects] }));
    key?.grant(role, 'kms:Encrypt', 'kms:GenerateDataKey');
    this.acknowledgeWildcard(role, objects, 'SageMaker writes capture files under keys of its own naming '
      + '(<endpoint>/<variant>/yyyy/mm/dd/hh/…) below the capture prefix; write-only, no read.');
  }

  private configureAutoScaling(scaling: ModelEndpointAutoScaling): sagemaker.ScalableInstanceCount {
    const count = this.endpoint.findInstanceProductionVariant(ModelEndpoint.VARIANT_NAME).autoScaleInstanceCount({
      minCapacity: scaling.minCapacity,
      maxCapacity: scaling.maxCapacity,
    });
    // The alpha takes a load-test result and sets TargetValue = safetyFactor x maxRequestsPerSecond x 60; with a
    // safety factor of 1 the target is the given invocations per minute.
    count.scaleOnInvocations('InvocationsPerInstance', {
      maxRequestsPerSecond: scaling.targetInvocationsPerInstancePerMinute / 60,
      safetyFactor: 1,
      scaleInCooldown: scaling.scaleInCooldown,
      scaleOutCooldown: scaling.scaleOutCooldown,
    });
    return count;
  }

  /** Acknowledge cdk-nag's IAM5 finding for one unavoidable wildcard resource of the role's policy. */
  private acknowledgeWildcard(role: iam.Role, resource: string, reason: string): void {
    acknowledgeWildcardResources(role.node.findChild('DefaultPolicy'), [resource], reason);
  }
}

/**
 * A `.tar.gz` in S3 for the alpha Model's ModelDataUrl that grants nothing: the alpha's `ModelData.fromBucket` grants
 * read on the whole bucket, while the construct grants read on that one key.
 */
class UrlModelData extends sagemaker.ModelData {
  constructor(private readonly uri: string) {
    super();
  }

  public bind(): sagemaker.ModelDataConfig {
    return { uri: this.uri };
  }
}

/** An ECR image by its literal URI (tag, or digest, which the alpha's `fromEcrRepository` cannot take); pull scoped to its repository. */
class EcrUriImage extends sagemaker.ContainerImage {
  constructor(private readonly uri: string, private readonly repository: ecr.IRepository) {
    super();
  }

  public bind(_scope: Construct, model: sagemaker.Model): sagemaker.ContainerImageConfig {
    this.repository.grantPull(model);
    return { imageName: this.uri };
  }
}

/** True for a prefix (`…/`), false for a `.tar.gz` object; the suffix must be literal to choose the data source. */
function modelDataShape(scope: IConstruct, field: string, value: string): boolean {
  if (value.endsWith('/')) return true;
  if (value.endsWith('.tar.gz')) return false;
  throw new ConfigurationError(scope, field, `must end in '/' (prefix) or '.tar.gz' (object), got '${value}'`);
}

function requireAtLeast(scope: IConstruct, field: string, value: number, min: number): void {
  if (isToken(value) || (Number.isInteger(value) && value >= min)) return;
  if (requireNumber(scope, field, value)) reportError(scope, field, `must be an integer of at least ${min}, got ${value}`);
}

/** The shape first, then the catalogue: a typo such as `ml.g5.48xlage` fails the synth, not the deployment. */
function validateInstanceType(scope: IConstruct, instanceType: string): void {
  if (isToken(instanceType)) return;
  if (!requireMatch(scope, 'instanceType', instanceType, INSTANCE_TYPE, 'of the form ml.<family>.<size>, e.g. ml.g5.12xlarge')) return;
  if (ENDPOINT_INSTANCE_TYPES.includes(instanceType)) return;
  const families = [...new Set(ENDPOINT_INSTANCE_TYPES.map((t) => t.split('.')[1]))].join(', ');
  reportError(scope, 'instanceType', `must be a SageMaker real-time inference instance type (ENDPOINT_INSTANCE_TYPES; `
    + `families ${families}), got '${instanceType}': did you mean '${closestEndpointInstanceType(instanceType)}'?`);
}

function validateAutoScaling(scope: IConstruct, scaling: ModelEndpointAutoScaling, initial: number): void {
  const { minCapacity: min, maxCapacity: max, targetInvocationsPerInstancePerMinute: target } = scaling;
  requireAtLeast(scope, 'autoScaling.minCapacity', min, 1);
  requireAtLeast(scope, 'autoScaling.maxCapacity', max, 1);
  if (max < min) {
    reportError(scope, 'autoScaling.maxCapacity', `must be at least autoScaling.minCapacity (${min}), got ${max}`);
  }
  if (min > initial) {
    reportError(scope, 'autoScaling.minCapacity', `must be at most initialInstanceCount (${initial}), got ${min}`);
  }
  if (max < initial) {
    reportError(scope, 'autoScaling.maxCapacity', `must be at least initialInstanceCount (${initial}), got ${max}`);
  }
  if (!isToken(target) && !(target > 0)) {
    reportError(scope, 'autoScaling.targetInvocationsPerInstancePerMinute', `must be greater than 0, got ${target}`);
  }
}

function validateVolumeKey(scope: IConstruct, instanceType: string): void {
  const family = INSTANCE_TYPE.exec(instanceType)?.[1];
  if (family === undefined || !LOCAL_STORAGE_FAMILIES.includes(family)) return;
  reportError(scope, 'kmsKey', `must not be given for ${instanceType}: its NVMe instance storage is `
    + 'encrypted by the hardware and SageMaker refuses a KmsKeyId for it; use a family without instance storage or omit kmsKey');
}

function timeoutSeconds(scope: IConstruct, field: string, timeout: Duration = Duration.minutes(30)): number {
  const seconds = timeout.toSeconds();
  requireIntegerInRange(scope, field, seconds, 60, 3600);
  return seconds;
}


function grantInvoke(grantee: iam.IGrantable, endpointArn: string): iam.Grant {
  return iam.Grant.addToPrincipal({
    grantee,
    actions: ['sagemaker:InvokeEndpoint', 'sagemaker:InvokeEndpointWithResponseStream'],
    resourceArns: [endpointArn],
  });
}
