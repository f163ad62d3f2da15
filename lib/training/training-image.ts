import * as crypto from 'crypto';
import * as path from 'path';
import { Duration, Fn, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { collectConfigurationErrors, CollectedErrors, reportError } from '../core/configuration-error';
import { allowCloudWatchLogs, restrictGrantsToAwsServices } from '../core/key-policy';
import { acknowledgeCurrentWildcards, acknowledgeManagedPolicy, acknowledgeWildcardResources } from '../core/nag-acknowledgement';
import { requireIntegerInRange, requireOneOf } from '../core/validation';
import { MEGATRON_RELEASE } from './megatron-release';

/** The Dockerfile and its build context, shipped in this package (`lib/training/image`). */
export const TRAINING_IMAGE_DIR = path.join(__dirname, 'image');

/**
 * Every input of the training image. Each is a build argument of the Dockerfile (TRAINING_IMAGE_BUILD_ARGS names
 * them) whose default is the same value (a test compares them); the build passes these, so the image is what this
 * package says it is.
 */
export interface TrainingImagePins {
  /** NGC PyTorch base, tag and digest: the 25.09 container Megatron-LM core_v0.15.3's CI builds on. */
  readonly baseImage: string;
  /** EFA installer release (efa-installer.amazonaws.com). */
  readonly efaInstallerVersion: string;
  /** SHA256 of `aws-efa-installer-<version>.tar.gz`, checked before it runs. */
  readonly efaInstallerSha256: string;
  /** aws-ofi-nccl release tag, built from source against EFA's libfabric and the base's CUDA. */
  readonly awsOfiNcclVersion: string;
  /** The commit that tag points to; the build fails if the tag has moved. */
  readonly awsOfiNcclCommit: string;
  /** Megatron-LM release tag. */
  readonly megatronLmTag: string;
  /** The commit checked out; the build fails unless the tag points to it. */
  readonly megatronLmCommit: string;
  /** Hugging Face transformers, exact version (the Llama loader needs 4.x, minor >= 31). */
  readonly transformersVersion: string;
  /** Weights & Biases client, exact version. */
  readonly wandbVersion: string;
}

/** The pins of this release of the package (sources in `lib/training/image/Dockerfile`). */
export const TRAINING_IMAGE_PINS: TrainingImagePins = {
  baseImage: 'nvcr.io/nvidia/pytorch:25.09-py3@sha256:f3b4a33fd60d5e0358287bb44d57e91eda45e8f1681fef1bfd6c969371417130',
  efaInstallerVersion: '1.41.0',
  efaInstallerSha256: '3506354cdfbe31ff552fe75f5d0d9bb7efd29cf79bd99457347d29c751c38f9f',
  awsOfiNcclVersion: 'v1.17.3',
  awsOfiNcclCommit: '93fa84ca880325013b2f639356bbb60f075148af',
  megatronLmTag: MEGATRON_RELEASE.tag,
  megatronLmCommit: MEGATRON_RELEASE.commit,
  transformersVersion: '4.57.1',
  wandbVersion: '0.22.3',
};

/** The pins as the Dockerfile's build arguments, `BASE_IMAGE` … `WANDB_VERSION`. */
export const TRAINING_IMAGE_BUILD_ARGS: Readonly<Record<string, string>> = buildArgs(TRAINING_IMAGE_PINS);

/**
 * CodeBuild compute types that can build the image. The NGC base alone is ≈ 10 GB compressed and ≈ 20 GB unpacked;
 * Docker keeps the pulled layers, the unpacked base and the new layers at once, and the plugin is compiled: LARGE
 * (8 vCPU, 15 GB memory, 128 GB disk) is the smallest with room for that; 2XLARGE (72 vCPU, 145 GB, 824 GB) is faster.
 * SMALL and MEDIUM (64 and 128 GB disk with 3 and 7 GB memory) risk running out of disk or memory an hour in.
 */
export const TRAINING_IMAGE_COMPUTE_TYPES: readonly codebuild.ComputeType[] = [
  codebuild.ComputeType.LARGE,
  codebuild.ComputeType.X2_LARGE,
];

export interface TrainingImageProps {
  /**
   * Images the repository keeps (the newest by push time); older ones expire. An integer from 1 to 1000.
   * @default 10
   */
  readonly keepImages?: number;
  /**
   * Days after which an untagged image (a failed or interrupted push) expires. An integer from 1 to 365.
   * @default 3
   */
  readonly untaggedImageExpiryDays?: number;
  /**
   * Compute type of the build: `ComputeType.LARGE` or `ComputeType.X2_LARGE` (see TRAINING_IMAGE_COMPUTE_TYPES).
   * @default ComputeType.LARGE
   */
  readonly computeType?: codebuild.ComputeType;
  /**
   * How long the build may run, 30 minutes to 36 hours. The base image pull, the plugin build and the push of
   * ≈ 20 GB take about 30–60 minutes on LARGE.
   * @default Duration.hours(3)
   */
  readonly buildTimeout?: Duration;
  /**
   * Key for the repository's images and the build's artifacts. The build log group is encrypted with it only when
   * this construct creates the key (a key you bring would need a statement for CloudWatch Logs first).
   * @default - a new key with rotation, kept on stack deletion
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * How long the build logs are kept.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * What happens to the repository, the build log group and a key this construct created when they leave the stack.
   * @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The training container, built in the account: the Dockerfile shipped in this package goes to S3 as an asset (so
 * `cdk synth` needs no Docker), a CodeBuild project builds it and pushes it to a private, immutable ECR repository,
 * and a custom resource starts that build on every deploy that changes the Dockerfile or a pin.
 *
 * The deploy does not wait for the build (≈ 30–60 minutes, beyond a custom resource's limit). `imageUri` is known
 * at once; a job that imports it (enroot) must first wait for the build `buildId` to succeed:
 * `aws codebuild batch-get-builds --ids <buildId> --query 'builds[0].buildStatus'` until `SUCCEEDED`. A build that
 * failed is not started again by a deploy of the same content: `aws codebuild start-build --project-name <project>`
 * builds the current tag (a tag already pushed is not built twice).
 */
export class TrainingImage extends Construct {
  /** The private repository the image is pushed to. */
  public readonly repository: ecr.Repository;
  /** The project that builds and pushes the image. */
  public readonly project: codebuild.Project;
  /** Where the build writes its logs. */
  public readonly logGroup: logs.LogGroup;
  /** Content tag of the image: a SHA256 of the Dockerfile directory and the pins. A change gives a new tag. */
  public readonly imageTag: string;
  /** `<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<imageTag>`; pullable once the build has succeeded. */
  public readonly imageUri: string;
  /**
   * The image as enroot and pyxis name it, `<account>.dkr.ecr.<region>.amazonaws.com#<repository>:<imageTag>`:
   * `enroot import docker://<enrootImage>` writes the squashfs the launch scripts run.
   */
  public readonly enrootImage: string;
  /** Id of the build the last deploy started (`<project>:<uuid>`), for `aws codebuild batch-get-builds --ids`. */
  public readonly buildId: string;
  /** The pins the image is built with. */
  public readonly pins: TrainingImagePins = TRAINING_IMAGE_PINS;

  constructor(scope: Construct, id: string, props: TrainingImageProps = {}) {
    super(scope, id);
    const keepImages = props.keepImages ?? 10;
    const untaggedDays = props.untaggedImageExpiryDays ?? 3;
    const computeType = props.computeType ?? codebuild.ComputeType.LARGE;
    const timeout = props.buildTimeout ?? Duration.hours(3);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE;
    collectConfigurationErrors(this, () => {
      requireIntegerInRange(this, 'keepImages', keepImages, 1, 1000);
      requireIntegerInRange(this, 'untaggedImageExpiryDays', untaggedDays, 1, 365);
      requireOneOf(this, 'computeType', computeType, TRAINING_IMAGE_COMPUTE_TYPES);
      validateTimeout(this, timeout);
    }, CollectedErrors.THROW);

    const ownKey = props.encryptionKey ? undefined : this.createKey(removalPolicy);
    const key = props.encryptionKey ?? ownKey!;
    this.logGroup = new logs.LogGroup(this, 'BuildLogs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
      encryptionKey: ownKey,
      removalPolicy,
    });
    const source = new s3assets.Asset(this, 'Context', { path: TRAINING_IMAGE_DIR });
    this.imageTag = contentTag(source.assetHash, TRAINING_IMAGE_PINS);

    this.repository = new ecr.Repository(this, 'Repository', {
      imageScanOnPush: true,
      imageTagMutability: ecr.TagMutability.IMMUTABLE,
      encryption: ecr.RepositoryEncryption.KMS,
      encryptionKey: key,
      lifecycleRules: [
        { rulePriority: 1, description: 'Failed or interrupted pushes', tagStatus: ecr.TagStatus.UNTAGGED, maxImageAge: Duration.days(untaggedDays) },
        { rulePriority: 2, description: `Keep the newest ${keepImages} images`, tagStatus: ecr.TagStatus.ANY, maxImageCount: keepImages },
      ],
      removalPolicy,
    });
    this.imageUri = this.repository.repositoryUriForTag(this.imageTag);
    const registry = Fn.select(0, Fn.split('/', this.repository.repositoryUri));
    this.enrootImage = `${registry}#${this.repository.repositoryName}:${this.imageTag}`;

    this.project = new codebuild.Project(this, 'Build', {
      description: `Builds the training image (Megatron-LM ${MEGATRON_RELEASE.tag}) and pushes it to its ECR repository`,
      source: codebuild.Source.s3({ bucket: source.bucket, path: source.s3ObjectKey }),
      environment: {
        buildImage: codebuild.LinuxBuildImage.STANDARD_7_0,
        computeType,
        // docker build needs the Docker daemon, which runs only in privileged mode.
        privileged: true,
      },
      environmentVariables: {
        REPOSITORY_URI: { value: this.repository.repositoryUri },
        REPOSITORY_NAME: { value: this.repository.repositoryName },
        IMAGE_TAG: { value: this.imageTag },
      },
      buildSpec: codebuild.BuildSpec.fromObject(buildSpec(TRAINING_IMAGE_PINS)),
      encryptionKey: key,
      logging: { cloudWatch: { logGroup: this.logGroup } },
      timeout,
    });
    this.repository.grantPullPush(this.project);
    // The build looks for its tag first: an immutable tag cannot be pushed twice.
    this.repository.grant(this.project, 'ecr:DescribeImages');

    const startBuild: cr.AwsSdkCall = {
      service: 'CodeBuild',
      action: 'startBuild',
      parameters: {
        projectName: this.project.projectName,
        // The tag in the call makes CloudFormation update (and so re-run) the resource whenever the content changes.
        environmentVariablesOverride: [{ name: 'IMAGE_TAG', value: this.imageTag, type: 'PLAINTEXT' }],
      },
      physicalResourceId: cr.PhysicalResourceId.of(this.imageTag),
      // The whole Build object can exceed the 4 KB a custom resource may return.
      outputPaths: ['build.id'],
    };
    const start = new cr.AwsCustomResource(this, 'StartBuild', {
      onCreate: startBuild,
      onUpdate: startBuild,
      policy: cr.AwsCustomResourcePolicy.fromStatements([new iam.PolicyStatement({
        actions: ['codebuild:StartBuild'],
        resources: [this.project.projectArn],
      })]),
      installLatestAwsSdk: false,
      timeout: Duration.minutes(2),
    });
    // The project's role and policy must exist before the build runs with them.
    start.node.addDependency(this.project);
    this.buildId = start.getResponseField('build.id');

    this.acknowledgeFindings();
  }

  /**
   * Pull access to this repository (e.g. for the cluster's node role): the ECR pull actions on the repository and
   * `ecr:GetAuthorizationToken`, which accepts only `*`.
   */
  public grantPull(grantee: iam.IGrantable): iam.Grant {
    const grant = this.repository.grantPull(grantee);
    const policy = grantee.grantPrincipal instanceof iam.Role ? grantee.grantPrincipal.node.tryFindChild('DefaultPolicy') : undefined;
    if (policy) acknowledgeWildcardResources(policy, ['*'], AUTHORIZATION_TOKEN_REASON);
    return grant;
  }

  private createKey(removalPolicy: RemovalPolicy): kms.Key {
    const key = new kms.Key(this, 'Key', {
      description: 'Training image: ECR repository and CodeBuild artifacts',
      enableKeyRotation: true,
      removalPolicy,
    });
    restrictGrantsToAwsServices(key);
    allowCloudWatchLogs(key);
    return key;
  }

  private acknowledgeFindings(): void {
    Validations.of(this.project).acknowledge({
      id: 'AwsSolutions-CB3',
      reason: 'docker build needs the Docker daemon, which CodeBuild runs only in privileged mode; the build runs '
        + 'only the Dockerfile of this package, from its own S3 asset.',
    });
    const projectPolicy = this.project.role?.node.tryFindChild('DefaultPolicy');
    if (projectPolicy) {
      acknowledgeCurrentWildcards(projectPolicy as iam.Policy, 'CodeBuild project role as aws-cdk-lib writes it: its '
        + 'log streams of its own log group, its report groups, the S3 asset read (grantRead), ECR pull/push on this repository only, and '
        + `${AUTHORIZATION_TOKEN_REASON}`);
    }
    // The AwsCustomResource handler is aws-cdk-lib's, one per stack.
    const handler = Stack.of(this).node.tryFindChild(AWS_CUSTOM_RESOURCE_HANDLER_ID);
    if (!handler) return;
    acknowledgeManagedPolicy(handler, iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaBasicExecutionRole'),
      'aws-cdk-lib AwsCustomResource handler: CloudWatch Logs for its own function.');
    Validations.of(handler).acknowledge({
      id: 'AwsSolutions-L1',
      reason: 'aws-cdk-lib AwsCustomResource handler: its runtime is pinned by aws-cdk-lib.',
    });
  }
}

const AWS_CUSTOM_RESOURCE_HANDLER_ID = 'AWS679f53fac002430cb0da5b7982bd2287';
const AUTHORIZATION_TOKEN_REASON = 'ecr:GetAuthorizationToken accepts only "*" (the token is for the registry, '
  + 'not a repository); the pull and push actions are on the repository itself.';

function buildArgs(pins: TrainingImagePins): Record<string, string> {
  return {
    BASE_IMAGE: pins.baseImage,
    EFA_INSTALLER_VERSION: pins.efaInstallerVersion,
    EFA_INSTALLER_SHA256: pins.efaInstallerSha256,
    AWS_OFI_NCCL_VERSION: pins.awsOfiNcclVersion,
    AWS_OFI_NCCL_COMMIT: pins.awsOfiNcclCommit,
    MEGATRON_LM_TAG: pins.megatronLmTag,
    MEGATRON_LM_COMMIT: pins.megatronLmCommit,
    TRANSFORMERS_VERSION: pins.transformersVersion,
    WANDB_VERSION: pins.wandbVersion,
  };
}

/** The image tag: the Dockerfile directory's asset hash and the pins, so any change to either gives a new tag. */
function contentTag(assetHash: string, pins: TrainingImagePins): string {
  return crypto.createHash('sha256').update(assetHash).update(JSON.stringify(pins)).digest('hex');
}

/**
 * Log in to ECR, build with every pin as a build argument, push the content tag (never `latest`: the tags are
 * immutable). A tag already in the repository (a build started again for the same content) is not built again.
 */
function buildSpec(pins: TrainingImagePins): Record<string, unknown> {
  const args = Object.entries(buildArgs(pins)).map(([name, value]) => `--build-arg ${name}=${value}`).join(' ');
  return {
    version: '0.2',
    env: { shell: 'bash' },
    phases: {
      build: {
        commands: [
          'if aws ecr describe-images --repository-name "$REPOSITORY_NAME" --image-ids imageTag="$IMAGE_TAG" >/dev/null 2>&1; then '
            + 'echo "$REPOSITORY_URI:$IMAGE_TAG is already in the repository"; '
            + 'else '
            + 'aws ecr get-login-password --region "$AWS_REGION" | docker login --username AWS --password-stdin "${REPOSITORY_URI%%/*}" '
            + `&& docker build ${args} --tag "$REPOSITORY_URI:$IMAGE_TAG" . `
            + '&& docker push "$REPOSITORY_URI:$IMAGE_TAG"; '
            + 'fi',
        ],
      },
    },
  };
}

function validateTimeout(scope: Construct, timeout: Duration): void {
  if (Token.isUnresolved(timeout.toString())) return;
  const minutes = timeout.toMinutes({ integral: false });
  if (Number.isInteger(minutes) && minutes >= 30 && minutes <= 2160) return;
  reportError(scope, 'buildTimeout', `must be a whole number of minutes from 30 minutes to 36 hours, got ${timeout.toHumanString()}`);
}
