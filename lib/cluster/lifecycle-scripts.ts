import * as crypto from 'crypto';
import * as path from 'path';
import { Duration, FileSystem, Lazy, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { acknowledgeCurrentWildcards, acknowledgeManagedPolicy, acknowledgeWildcardResources } from '../core/nag-acknowledgement';
import { grantNamedStatements } from '../core/named-grant';
import { AccessLogsBucket } from '../storage/access-logs-bucket';
import { stackUniqueSuffix } from './stack-unique-suffix';
import { ClusterObservabilitySettings } from './cluster-observability';

/** The scripts shipped in this package (`lib/cluster/lifecycle`). */
export const LIFECYCLE_SCRIPTS_DIR = path.join(__dirname, 'lifecycle');
/**
 * The entry point HyperPod runs on every new node as `LifeCycleConfig.OnInitComplete`: after HyperPod's
 * AMI-based initialization (Slurm, Docker, prolog/epilog, FSx mount) is complete.
 */
export const ON_INIT_COMPLETE_SCRIPT = 'on_init_complete.sh';
/** The settings file the scripts read, written next to them. */
export const SETTINGS_FILE = 'cluster-settings.json';

/**
 * `cluster-settings.json`: everything the node scripts may not hard-code (docs/lifecycle.md). `schemaVersion`
 * is what lib.sh's require_settings checks; test/cluster/settings-contract.test.ts holds the scripts' reads to it.
 */
export interface ClusterSettingsFile extends ClusterObservabilitySettings {
  readonly schemaVersion: 1;
  readonly clusterName: string;
  readonly region: string;
  /** The file system the nodes mount, or null for a cluster without one. */
  readonly fsx: {
    readonly mountPath: string;
    readonly dnsName: string;
    readonly mountName: string;
    /** Directories under the mount made writable by every user (relative to it). */
    readonly userDirectories: readonly string[];
    readonly dataRepositories: ReadonlyArray<{ readonly fileSystemPath: string; readonly s3Uri: string; readonly exported: boolean }>;
  } | null;
  /** Node count per compute partition (one partition per compute group). */
  readonly slurm: { readonly partitions: Readonly<Record<string, number>> };
  /** Slurm node type (Controller, Login, Compute) per instance group. */
  readonly instanceGroups: Readonly<Record<string, string>>;
  readonly features: { readonly containers: boolean };
  /** NCCL/EFA environment for jobs (nccl-env.sh). */
  readonly nccl: Readonly<Record<string, string>>;
  readonly preload: { readonly parallelism: number };
  readonly experimentTracking: { readonly secretArn: string; readonly envVar: string } | null;
}

export interface LifecycleScriptsProps {
  /** The settings the scripts read (`cluster-settings.json`); tokens are resolved at deploy time. */
  readonly settings: ClusterSettingsFile;
  /**
   * Bucket for the scripts.
   * @default - a new private, TLS-only, versioned, access-logged bucket named `sagemaker-lifecycle-<stack UUID>`
   */
  readonly bucket?: s3.IBucket;
  /**
   * Where the new bucket's access logs go.
   * @default - a new access-log bucket
   */
  readonly accessLogsBucket?: s3.IBucket;
}

/**
 * The lifecycle scripts of a cluster in S3, at a content-addressed prefix: any change to a script, to the
 * settings or to an added file gives a new `sourceS3Uri`, so CloudFormation sees the change and the nodes
 * HyperPod creates from then on run the new scripts. Old prefixes are kept for nodes that still point at them.
 */
export class LifecycleScripts extends Construct {
  public readonly bucket: s3.IBucket;
  /** `s3://bucket/lifecycle/<sha256>/`, for `LifeCycleConfig.SourceS3Uri`. */
  public readonly sourceS3Uri: string;
  /** The key prefix, `lifecycle/<sha256>/`. */
  public readonly keyPrefix: string;
  /** The custom resource that copies the files; anything that reads them must depend on it. */
  public readonly deployment: s3deploy.BucketDeployment;
  private readonly extraFiles = new Map<string, string>();
  private readonly settingsJson: string;

  constructor(scope: Construct, id: string, props: LifecycleScriptsProps) {
    super(scope, id);
    this.bucket = props.bucket ?? this.createBucket(props.accessLogsBucket);
    this.settingsJson = JSON.stringify(Stack.of(this).resolve(props.settings));
    this.keyPrefix = Lazy.string({ produce: () => `lifecycle/${this.contentHash()}/` });
    this.sourceS3Uri = `s3://${this.bucket.bucketName}/${this.keyPrefix}`;
    this.deployment = new s3deploy.BucketDeployment(this, 'Deployment', {
      destinationBucket: this.bucket,
      destinationKeyPrefix: this.keyPrefix,
      sources: [
        s3deploy.Source.asset(LIFECYCLE_SCRIPTS_DIR),
        s3deploy.Source.jsonData(SETTINGS_FILE, props.settings),
      ],
      prune: false,
      // Old prefixes stay for nodes that still point at them.
      retainOnDelete: true,
    });
    this.acknowledgeDeploymentFindings();
  }

  /** Ship one more file with the scripts (e.g. a generated job script), at `relativePath` under the prefix. */
  public addFile(relativePath: string, content: string): void {
    this.extraFiles.set(relativePath, content);
    this.deployment.addSource(s3deploy.Source.data(relativePath, content));
  }

  /**
   * Read access to the lifecycle prefix: list the bucket and get the objects under `lifecycle/` (the managed
   * cluster-instance policy reads only `sagemaker-*` buckets; a bucket you bring may be named otherwise).
   * The list grant has no `s3:prefix` condition: HyperPod's own list calls must never be refused.
   */
  public grantRead(grantee: iam.IGrantable): iam.Grant {
    const grant = grantNamedStatements(grantee, [
      { sid: 'ListLifecycleScripts', actions: ['s3:ListBucket'], resourceArns: [this.bucket.bucketArn] },
      { sid: 'ReadLifecycleScripts', actions: ['s3:GetObject'], resourceArns: [this.bucket.arnForObjects('lifecycle/*')] },
    ]);
    const policy = grantee.grantPrincipal instanceof iam.Role ? grantee.grantPrincipal.node.tryFindChild('DefaultPolicy') : undefined;
    if (policy) {
      acknowledgeWildcardResources(policy, [this.bucket.arnForObjects('lifecycle/*')],
        'Nodes read every script under the lifecycle prefix of this bucket, whose content-addressed subfolder changes with each script version.');
    }
    return grant;
  }

  private contentHash(): string {
    const hash = crypto.createHash('sha256');
    hash.update(FileSystem.fingerprint(LIFECYCLE_SCRIPTS_DIR));
    hash.update(this.settingsJson);
    for (const [file, content] of [...this.extraFiles].sort()) hash.update(`${file}\0${content}\0`);
    return hash.digest('hex');
  }

  /** The copy handler is aws-cdk-lib's (one per stack): its permissions and runtime are set there. */
  private acknowledgeDeploymentFindings(): void {
    const stack = Stack.of(this);
    const handler = stack.node.tryFindChild('Custom::CDKBucketDeployment8693BB64968944B69AAFB0CC9EB8756C');
    const policy = handler?.node.tryFindChild('ServiceRole')?.node.tryFindChild('DefaultPolicy');
    if (!handler || !policy) return;
    acknowledgeManagedPolicy(handler, iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaBasicExecutionRole'),
      'aws-cdk-lib BucketDeployment handler: CloudWatch Logs for its own function.');
    Validations.of(handler).acknowledge({
      id: 'AwsSolutions-L1',
      reason: 'aws-cdk-lib BucketDeployment handler: its runtime is pinned by aws-cdk-lib.',
    });
    acknowledgeCurrentWildcards(policy as iam.Policy, 'aws-cdk-lib BucketDeployment handler: reads the CDK asset bucket and '
      + 'writes the lifecycle bucket, with the grants aws-cdk-lib gives it (grantRead/grantReadWrite).');
  }

  /**
   * Named `sagemaker-…` as the SageMaker API reference asks of `SourceS3Uri`, and unique per stack (its UUID):
   * a retained bucket of a deleted stack, or of a failed create that could not empty it, never blocks the
   * next one. RetainExceptOnCreate: a failed first create removes it when it is still empty.
   */
  private createBucket(accessLogs?: s3.IBucket): s3.Bucket {
    return new s3.Bucket(this, 'Bucket', {
      bucketName: `sagemaker-lifecycle-${stackUniqueSuffix()}`,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      versioned: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: accessLogs ?? new AccessLogsBucket(this, 'AccessLogs'),
      serverAccessLogsPrefix: 'lifecycle-scripts/',
      // Old prefixes stay (nodes may still point at them); only overwritten versions expire.
      lifecycleRules: [{
        id: 'OldScriptVersions',
        noncurrentVersionExpiration: Duration.days(90),
        abortIncompleteMultipartUploadAfter: Duration.days(7),
      }],
      removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });
  }
}
