import { Annotations, Aws, Duration, IResource, RemovalPolicy, Resource, Stack, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as fsx from 'aws-cdk-lib/aws-fsx';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct, IConstruct } from 'constructs';
import { EFA_CAPACITY_STEP_GIB, isPersistent2Capacity, PERSISTENT_2_PER_UNIT_THROUGHPUTS } from '../catalog/fsx-lustre';
import { collectConfigurationErrors, reportError, requireProp } from '../core/configuration-error';
import { restrictGrantsToAwsServices } from '../core/key-policy';
import { requireMatch, requireNumber, requireOneOf } from '../core/validation';
import { ClosedSecurityGroup } from '../network/closed-security-group';
import { ITrainingNetwork } from '../network/training-network';
import { DataRepositoryAssociation, DataRepositoryOptions, normalisePrefix } from './data-repository-association';
import { AccessLogsBucket } from './access-logs-bucket';
import { TrainingBucket } from './training-bucket';

/** Compression of file data on the file system. */
export enum LustreDataCompression {
  /** LZ4: more capacity and throughput for compressible data, at little CPU cost on the servers. */
  LZ4 = 'LZ4',
  /** No compression. */
  NONE = 'NONE',
}

/** What a cluster needs to mount a Lustre file system: a new LustreStorage or `fromLustreStorageAttributes`. */
export interface ILustreStorage extends IResource, ec2.IConnectable {
  /** e.g. `fs-0123456789abcdef0`. */
  readonly fileSystemId: string;
  /** e.g. `fs-0123456789abcdef0.fsx.us-east-1.amazonaws.com`. */
  readonly dnsName: string;
  /** The Lustre mount name, e.g. `abcdefgh`. */
  readonly mountName: string;
  /** The VPC of the file system, when known: a cluster must be in the same one. */
  readonly vpc?: ec2.IVpc;
}

/** Attributes of an existing FSx for Lustre file system. */
export interface LustreStorageAttributes {
  /** e.g. `fs-0123456789abcdef0`. */
  readonly fileSystemId: string;
  /** e.g. `fs-0123456789abcdef0.fsx.us-east-1.amazonaws.com`. */
  readonly dnsName: string;
  /** The Lustre mount name, e.g. `abcdefgh`. */
  readonly mountName: string;
  /** The file system's security group: clients are allowed in on the Lustre ports. */
  readonly securityGroup: ec2.ISecurityGroup;
  /**
   * The file system's VPC, to check that a cluster mounting it is in the same one.
   * @default - unknown: not checked
   */
  readonly vpc?: ec2.IVpc;
}

export interface LustreStorageProps {
  /** The network the file system lives in: its compute subnet, and its EFA security group as the client. */
  readonly network: ITrainingNetwork;
  /**
   * Storage capacity. PERSISTENT_2: 1200, 2400, then steps of 2400 GiB; EFA-enabled: steps of 38400, 19200,
   * 9600 or 4800 GiB for 125, 250, 500 or 1000 MB/s/TiB.
   * @default 4800
   */
  readonly storageCapacityGiB?: number;
  /**
   * Throughput per TiB of storage, MB/s: 125, 250, 500 or 1000. Aggregate = capacity (TiB) x this.
   * @default 250
   */
  readonly perUnitThroughputMBps?: number;
  /**
   * Compression of file data (LZ4 typically saves capacity and throughput on tokenized data and checkpoints).
   * @default LustreDataCompression.LZ4
   */
  readonly dataCompression?: LustreDataCompression;
  /**
   * Metadata IOPS: 1500, 3000, 6000, 12000, then multiples of 12000 up to 192000 (user-provisioned mode).
   * @default - AUTOMATIC mode, scaled with capacity by FSx
   */
  readonly metadataIops?: number;
  /**
   * Use EFA between clients and the file system (up to 700 Gbps per client; creation-only).
   * @default false
   */
  readonly efaEnabled?: boolean;
  /**
   * Key for the file system and the buckets this construct creates.
   * @default - a new key with rotation, retained with the data
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * Bucket for datasets.
   * @default - a new encrypted, versioned, access-logged bucket
   */
  readonly datasetsBucket?: s3.IBucket;
  /**
   * Bucket for checkpoints.
   * @default - a new encrypted, versioned, access-logged bucket
   */
  readonly checkpointsBucket?: s3.IBucket;
  /**
   * How long an overwritten or deleted checkpoint object is kept as a noncurrent version. Only for the
   * checkpoints bucket this construct creates: with `checkpointsBucket` it is an error (set it on your bucket).
   * @default Duration.days(30)
   */
  readonly checkpointNoncurrentVersionExpiration?: Duration;
  /**
   * Weekly maintenance window start, `d:HH:MM` in UTC (1 = Monday).
   * @default - chosen by FSx
   */
  readonly weeklyMaintenanceStartTime?: string;
  /**
   * What happens to the file system, the buckets and the key when the stack no longer has them.
   * @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE (`RetainExceptOnCreate`: a failed first create cleans up)
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** At most this many data repository associations per file system (FSx quota). */
export const MAX_DATA_REPOSITORIES = 8;
/** LNet and the Lustre servers: TCP 988 and 1018-1023. */
export const LUSTRE_PORTS = [ec2.Port.tcp(988), ec2.Port.tcpRange(1018, 1023)];

/**
 * FSx for Lustre PERSISTENT_2 (Lustre 2.15) in the compute subnet, KMS-encrypted and retained by default,
 * with its own security group open on the Lustre ports to the cluster, optional EFA, and S3 data repository
 * associations (`addDataRepository`) to buckets for datasets and checkpoints.
 */
export class LustreStorage extends Resource implements ILustreStorage {
  /** Mount an existing file system. */
  public static fromLustreStorageAttributes(scope: Construct, id: string, attrs: LustreStorageAttributes): ILustreStorage {
    class Imported extends Resource implements ILustreStorage {
      public readonly fileSystemId = attrs.fileSystemId;
      public readonly dnsName = attrs.dnsName;
      public readonly mountName = attrs.mountName;
      public readonly connections = new ec2.Connections({ securityGroups: [attrs.securityGroup] });
      public readonly vpc = attrs.vpc;
    }
    return new Imported(scope, id);
  }

  public readonly fileSystemId: string;
  public readonly dnsName: string;
  public readonly mountName: string;
  public readonly connections: ec2.Connections;
  public readonly vpc: ec2.IVpc;
  /** The file system's own security group. */
  public readonly securityGroup: ec2.ISecurityGroup;
  public readonly encryptionKey: kms.IKey;
  public readonly datasetsBucket: s3.IBucket;
  public readonly checkpointsBucket: s3.IBucket;
  /** Where the buckets created here log access; undefined when both buckets were brought. */
  public readonly accessLogsBucket?: s3.IBucket;
  /** Capacity in GiB. */
  public readonly storageCapacityGiB: number;
  /** Aggregate throughput in MB/s: capacity (TiB) x per-unit throughput. */
  public readonly throughputMBps: number;
  /** The L1 file system. */
  public readonly resource: fsx.CfnFileSystem;
  private readonly repositories: DataRepositoryAssociation[] = [];

  constructor(scope: Construct, id: string, props: LustreStorageProps) {
    super(scope, id);
    const network = requireProp(this, 'network', props.network, 'the TrainingNetwork or TrainingNetwork.fromTrainingNetworkAttributes the file system lives in');
    const capacity = props.storageCapacityGiB ?? 4800;
    const perUnit = props.perUnitThroughputMBps ?? 250;
    const efa = props.efaEnabled ?? false;
    collectConfigurationErrors(this, () => validateProps(this, props, capacity, perUnit, efa));
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE;

    this.storageCapacityGiB = capacity;
    this.throughputMBps = (capacity / 1024) * perUnit;
    this.encryptionKey = props.encryptionKey ?? new kms.Key(this, 'Key', {
      enableKeyRotation: true,
      description: `${this.node.path}: FSx for Lustre and its S3 data repositories`,
      removalPolicy,
    });
    allowFsxToUseKeyForS3(this.encryptionKey);
    restrictGrantsToAwsServices(this.encryptionKey);
    this.vpc = network.vpc;
    this.securityGroup = this.createSecurityGroup(network, efa);
    this.connections = new ec2.Connections({ securityGroups: [this.securityGroup] });

    this.resource = new fsx.CfnFileSystem(this, 'Resource', {
      fileSystemType: 'LUSTRE',
      fileSystemTypeVersion: '2.15',
      storageType: 'SSD',
      storageCapacity: capacity,
      subnetIds: [network.computeSubnet.subnetId],
      securityGroupIds: [this.securityGroup.securityGroupId],
      kmsKeyId: this.encryptionKey.keyId,
      lustreConfiguration: {
        deploymentType: 'PERSISTENT_2',
        perUnitStorageThroughput: perUnit,
        dataCompressionType: props.dataCompression ?? LustreDataCompression.LZ4,
        efaEnabled: efa || undefined,
        metadataConfiguration: props.metadataIops === undefined
          ? { mode: 'AUTOMATIC' }
          : { mode: 'USER_PROVISIONED', iops: props.metadataIops },
        logConfiguration: { level: 'WARN_ERROR' },
        weeklyMaintenanceStartTime: props.weeklyMaintenanceStartTime,
      },
    });
    this.resource.applyRemovalPolicy(removalPolicy);
    // FSx checks the security group when it creates the servers: the Lustre rules must exist first, or
    // creation fails with InvalidNetworkSettings.
    this.resource.node.addDependency(this.securityGroup, network.efaSecurityGroup);

    this.fileSystemId = this.resource.ref;
    this.dnsName = this.resource.attrDnsName;
    this.mountName = this.resource.attrLustreMountName;
    const logs = props.datasetsBucket && props.checkpointsBucket ? undefined : new AccessLogsBucket(this, 'AccessLogs', {
      removalPolicy,
    });
    this.accessLogsBucket = logs;
    this.datasetsBucket = props.datasetsBucket ?? new TrainingBucket(this, 'DatasetsBucket', {
      encryptionKey: this.encryptionKey,
      accessLogs: logs!,
      removalPolicy,
    });
    this.checkpointsBucket = props.checkpointsBucket ?? new TrainingBucket(this, 'CheckpointsBucket', {
      encryptionKey: this.encryptionKey,
      accessLogs: logs!,
      removalPolicy,
      noncurrentVersionExpiration: props.checkpointNoncurrentVersionExpiration ?? Duration.days(30),
    });
    for (const [field, bucket] of [['datasetsBucket', props.datasetsBucket], ['checkpointsBucket', props.checkpointsBucket]] as const) {
      if (bucket) this.allowFsxOnBroughtBucketKey(field, bucket);
    }
  }

  /** The associations added so far. */
  public get dataRepositories(): readonly DataRepositoryAssociation[] {
    return this.repositories;
  }

  /**
   * Link a directory of the file system to an S3 prefix. At most 8 per file system; directories and prefixes
   * (in the same bucket) must not repeat or nest.
   */
  public addDataRepository(options: DataRepositoryOptions): DataRepositoryAssociation {
    const index = this.repositories.length;
    collectConfigurationErrors(this, () => {
      if (index >= MAX_DATA_REPOSITORIES) {
        reportError(this, `dataRepositories[${index}]`,
          `exceeds the limit of ${MAX_DATA_REPOSITORIES} data repository associations per file system, `
          + `got one more for '${options.fileSystemPath}'`);
      }
      this.checkNoOverlap(options.fileSystemPath, options.bucket, normalisePrefix(options.prefix ?? options.fileSystemPath));
    });
    const id = `DataRepository${options.fileSystemPath.replace(/[^A-Za-z0-9]/g, '') || 'Root'}`;
    const association = new DataRepositoryAssociation(this, this.node.tryFindChild(id) ? `${id}${index}` : id, {
      ...options,
      fileSystemId: this.fileSystemId,
    });
    // FSx fails associations created in parallel on one file system: create them one after another.
    const previous = this.repositories[index - 1];
    if (previous) association.node.addDependency(previous);
    this.repositories.push(association);
    return association;
  }

  private checkNoOverlap(fileSystemPath: string, bucket: s3.IBucket, prefix: string): void {
    for (const existing of this.repositories) {
      if (nests(existing.fileSystemPath, fileSystemPath, '/')) {
        reportError(this, 'dataRepositories.fileSystemPath',
          `must not repeat or nest across associations, got '${fileSystemPath}' overlapping '${existing.fileSystemPath}'`);
        return;
      }
      if (existing.bucket.bucketName === bucket.bucketName && nests(existing.prefix, prefix, '/')) {
        reportError(this, 'dataRepositories.prefix',
          `must not repeat or nest within a bucket, got 's3://${bucket.bucketName}/${prefix}' `
          + `overlapping '${existing.dataRepositoryPath}'`);
        return;
      }
    }
  }

  private createSecurityGroup(network: ITrainingNetwork, efa: boolean): ec2.ISecurityGroup {
    const sg = new ClosedSecurityGroup(this, 'SecurityGroup', {
      vpc: network.vpc,
      description: `${this.node.path}: Lustre${efa ? ' over EFA' : ''} between the file system and its clients`,
    });
    const client = network.efaSecurityGroup;
    // EFA needs all traffic between servers and clients; plain Lustre needs only LNet ports, both ways.
    const ports = efa ? [ec2.Port.allTraffic()] : LUSTRE_PORTS;
    for (const port of ports) {
      sg.connections.allowInternally(port, 'Lustre between file-system servers');
      sg.connections.allowFrom(client, port, 'Lustre from cluster nodes');
      sg.connections.allowTo(client, port, 'Lustre to cluster nodes');
    }
    return sg;
  }

  /**
   * A bucket brought with its own KMS key: FSx's service-linked role must be allowed on that key too, or the
   * associations fail to import and export. The statement is added when the key is defined in this app; an
   * imported key's policy cannot be changed here, so a warning says what to add.
   */
  private allowFsxOnBroughtBucketKey(field: string, bucket: s3.IBucket): void {
    const key = bucket.encryptionKey;
    if (!key || key === this.encryptionKey) return;
    if (allowFsxToUseKeyForS3(key)) return;
    Annotations.of(this).addWarningV2('cdk-hyperpod-training:broughtBucketKey',
      `${field}: its KMS key ${Token.isUnresolved(key.keyArn) ? '(imported)' : key.keyArn} is not defined in this app, so FSx's `
      + 'access cannot be added to its policy: allow kms:Decrypt, kms:Encrypt, kms:GenerateDataKey*, kms:ReEncrypt*, '
      + 'kms:DescribeKey via s3 for role aws-service-role/s3.data-source.lustre.fsx.amazonaws.com/AWSServiceRoleForFSxS3Access_* '
      + '(see LustreStorage docs), or the data repository associations fail.');
  }
}

/**
 * Reports an error when a file system and the network of its clients are in different VPCs (FSx is reachable only
 * inside its VPC unless you peer them): for a cluster's `storage` prop. Skipped when either VPC is unknown or only
 * known at deploy time through something else than a resource reference.
 */
export function requireStorageInNetwork(scope: IConstruct, field: string, storage: ILustreStorage, network: ITrainingNetwork): void {
  if (!storage.vpc || !network.vpc) return;
  const stack = Stack.of(scope);
  const [a, b] = [storage.vpc.vpcId, network.vpc.vpcId].map((id) => stack.resolve(id) as unknown);
  const comparable = (v: unknown) => typeof v === 'string' || (typeof v === 'object' && v !== null && 'Ref' in v);
  if (!comparable(a) || !comparable(b) || JSON.stringify(a) === JSON.stringify(b)) return;
  const name = (v: unknown, vpc: ec2.IVpc) => (typeof v === 'string' ? v : vpc.node.path);
  reportError(scope, field, `must be in the cluster's VPC ${name(b, network.vpc)}: FSx for Lustre is mounted over the `
    + `compute subnet, got a file system in ${name(a, storage.vpc)} (${storage.node.path})`);
}

/** True when one path equals or contains the other (`/data` contains `/data/ja`, not `/data2`). */
function nests(a: string, b: string, separator: string): boolean {
  const asDir = (p: string) => (p.endsWith(separator) ? p : p + separator);
  return asDir(a).startsWith(asDir(b)) || asDir(b).startsWith(asDir(a)) || a === '' || b === '';
}

function validateProps(scope: IConstruct, props: LustreStorageProps, capacity: number, perUnit: number, efa: boolean): void {
  const throughputValid = requireOneOf(scope, 'perUnitThroughputMBps', perUnit, PERSISTENT_2_PER_UNIT_THROUGHPUTS);
  if (throughputValid) validateCapacity(scope, capacity, perUnit, efa);
  if (props.metadataIops !== undefined) validateMetadataIops(scope, props.metadataIops);
  if (props.weeklyMaintenanceStartTime !== undefined) {
    // FSx API (UpdateFileSystemLustreConfiguration.WeeklyMaintenanceStartTime): pattern ^[1-7]:([01]\d|2[0-3]):?([0-5]\d)$
    requireMatch(scope, 'weeklyMaintenanceStartTime', props.weeklyMaintenanceStartTime, /^[1-7]:([01]\d|2[0-3]):([0-5]\d)$/,
      "'d:HH:MM' in UTC, d from 1 (Monday) to 7, e.g. '7:02:30'");
  }
  if (props.checkpointsBucket && props.checkpointNoncurrentVersionExpiration) {
    reportError(scope, 'checkpointNoncurrentVersionExpiration',
      'applies only to the checkpoints bucket this construct creates, and checkpointsBucket was given: set the '
      + 'expiration in your bucket\'s lifecycle rules and remove this prop, '
      + `got ${props.checkpointNoncurrentVersionExpiration.toHumanString()}`);
  }
}

function validateCapacity(scope: IConstruct, gib: number, perUnit: number, efa: boolean): void {
  if (Token.isUnresolved(gib) || !requireNumber(scope, 'storageCapacityGiB', gib)) return;
  if (efa) {
    const step = EFA_CAPACITY_STEP_GIB[perUnit];
    if (gib >= step && gib % step === 0) return;
    reportError(scope, 'storageCapacityGiB',
      `must be a multiple of ${step} GiB for an EFA-enabled file system at ${perUnit} MB/s/TiB, got ${gib}`);
    return;
  }
  if (isPersistent2Capacity(gib)) return;
  reportError(scope, 'storageCapacityGiB', `must be 1200 or a multiple of 2400 GiB for PERSISTENT_2, got ${gib}`);
}

function validateMetadataIops(scope: IConstruct, iops: number): void {
  if (Token.isUnresolved(iops) || !requireNumber(scope, 'metadataIops', iops)) return;
  if ([1500, 3000, 6000].includes(iops) || (iops >= 12000 && iops <= 192000 && iops % 12000 === 0)) return;
  reportError(scope, 'metadataIops', `must be 1500, 3000, 6000, or a multiple of 12000 up to 192000, got ${iops}`);
}

/**
 * FSx reads and writes S3 through a service-linked role created with the first association, which does not
 * exist yet at deploy time: allow it on the key by ARN pattern, only via S3, only from this account.
 */
function allowFsxToUseKeyForS3(key: kms.IKey): boolean {
  return key.addToResourcePolicy(new iam.PolicyStatement({
    sid: 'AllowFsxDataRepositoryAccessViaS3',
    principals: [new iam.AnyPrincipal()],
    actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey*', 'kms:ReEncrypt*', 'kms:DescribeKey'],
    resources: ['*'],
    conditions: {
      StringEquals: { 'kms:CallerAccount': Aws.ACCOUNT_ID, 'kms:ViaService': `s3.${Aws.REGION}.amazonaws.com` },
      ArnLike: {
        'aws:PrincipalArn': `arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:role/aws-service-role/`
          + 's3.data-source.lustre.fsx.amazonaws.com/AWSServiceRoleForFSxS3Access_*',
      },
    },
  })).statementAdded;
}
