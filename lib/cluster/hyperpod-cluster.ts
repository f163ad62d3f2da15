import * as crypto from 'crypto';
import { Annotations, ArnFormat, IResource, Names, Resource, Stack, Tags, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as fsx from 'aws-cdk-lib/aws-fsx';
import * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct, IConstruct } from 'constructs';
import { DEFAULT_ACCELERATED_EBS_GIB, DEFAULT_CPU_EBS_GIB, findHyperPodInstanceType } from '../catalog/hyperpod-instance-types';
import { collectConfigurationErrors, reportError, requireProp } from '../core/configuration-error';
import { acknowledgeWildcardResources } from '../core/nag-acknowledgement';
import { requireIntegerInRange, requireMatch } from '../core/validation';
import { addressesForNodes, cidrMaskOf, usableAddresses } from '../network/subnet-sizing';
import { ITrainingNetwork } from '../network/training-network';
import { DataRepositoryAssociation } from '../storage/data-repository-association';
import { ILustreStorage, LUSTRE_PORTS, LustreStorage, requireStorageInNetwork } from '../storage/lustre-storage';
import { ClusterExecutionRole } from './cluster-execution-role';
import { IClusterObservability } from './cluster-observability';
import {
  defaultHealthChecks, hasAccelerators, INSTANCE_GROUP_NAME, InstanceGroupOptions, SlurmNodeType,
  validateInstanceGroup,
} from './instance-group';
import { ClusterSettingsFile, LifecycleScripts, ON_INIT_COMPLETE_SCRIPT } from './lifecycle-scripts';
import { ncclEnvironment } from './nccl-environment';

/** What HyperPod does with a node that fails a health check. */
export enum NodeRecovery {
  /** Replace or reboot faulty nodes automatically. */
  AUTOMATIC = 'Automatic',
  /** Leave faulty nodes for you to handle. */
  NONE = 'None',
}

/**
 * How HyperPod treats `slurm.conf` when it applies the instance groups' Slurm configuration (HyperPod migration
 * guide to API-driven configuration).
 */
export enum SlurmConfigStrategy {
  /** HyperPod owns the partitions; manual `slurm.conf` edits are treated as drift. */
  MANAGED = 'Managed',
  /** HyperPod overwrites changes made on the controller. */
  OVERWRITE = 'Overwrite',
  /**
   * HyperPod merges its configuration with changes made on the controller: edits the lifecycle scripts make
   * (the job-completion plugin of job notifications) survive its rewrites. The only behaviour continuous
   * provisioning supports.
   */
  MERGE = 'Merge',
}

/** A HyperPod cluster, new or imported (`fromHyperPodClusterAttributes`). */
export interface IHyperPodCluster extends IResource, ec2.IConnectable {
  /** The cluster name. */
  readonly clusterName: string;
  /** The cluster ARN (ends in the cluster ID). */
  readonly clusterArn: string;
  /** Role of the login and compute nodes. */
  readonly executionRole: iam.IRole;
  /** Role of the controller node (the only one allowed to publish job events). */
  readonly controllerRole: iam.IRole;
}

/** Attributes of an existing cluster. */
export interface HyperPodClusterAttributes {
  /** The cluster name. */
  readonly clusterName: string;
  /**
   * The cluster's ARN (it ends in the cluster ID, not the name: events are matched on it).
   * @default - built from the name, which matches no HyperPod event
   */
  readonly clusterArn?: string;
  /** Role of the login and compute nodes. */
  readonly executionRole: iam.IRole;
  /**
   * Role of the controller node.
   * @default - the same as executionRole
   */
  readonly controllerRole?: iam.IRole;
  /** The security group the nodes are in. */
  readonly securityGroup: ec2.ISecurityGroup;
}

/** Experiment-tracking credentials (e.g. a Weights & Biases API key) handed to jobs. */
export interface ExperimentTrackingOptions {
  /** The secret holding the key (its SecretString). */
  readonly secret: secretsmanager.ISecret;
  /**
   * Environment variable jobs receive it in.
   * @default 'WANDB_API_KEY'
   */
  readonly environmentVariable?: string;
}

export interface HyperPodClusterProps {
  /** The network: the compute subnet and its EFA security group hold every node. */
  readonly network: ITrainingNetwork;
  /**
   * The Lustre file system HyperPod mounts on every node.
   * @default - no shared file system
   */
  readonly storage?: ILustreStorage;
  /**
   * Where the file system is mounted.
   * @default '/fsx'
   */
  readonly mountPath?: string;
  /** The Slurm controller group (exactly one). Its name defaults to `controller`. */
  readonly controllerGroup: ClusterSupportGroupOptions;
  /**
   * The login group.
   * @default - none
   */
  readonly loginGroup?: ClusterSupportGroupOptions;
  /** The compute groups, one Slurm partition each (named after the group). */
  readonly computeGroups: InstanceGroupOptions[];
  /**
   * Cluster name: letters, digits and hyphens, at most 63 characters. A custom name is fixed: a change to a
   * create-only property (VPC, orchestrator, a group's instance type or role) needs a new cluster, which
   * CloudFormation cannot create under the same name, so such an update fails; change the name with it.
   * @default - `<stack name>-<construct id>`, unique per stack in the account and Region
   */
  readonly clusterName?: string;
  /**
   * What HyperPod does with a node that fails a health check.
   * @default NodeRecovery.AUTOMATIC
   */
  readonly nodeRecovery?: NodeRecovery;
  /**
   * Continuous provisioning: the cluster is InService once the controller (and login) nodes are up, and
   * HyperPod keeps trying to provision compute nodes in the background.
   * @default false
   */
  readonly continuousProvisioning?: boolean;
  /**
   * How HyperPod treats `slurm.conf` when it applies the instance groups. Must stay unset with continuous
   * provisioning, which supports only Merge and rejects requests that set it.
   * @default - SlurmConfigStrategy.MERGE (sent only without continuous provisioning): the lifecycle scripts'
   * `slurm.conf` edits survive HyperPod's rewrites
   */
  readonly slurmConfigStrategy?: SlurmConfigStrategy;
  /**
   * Verify Docker, enroot and pyxis (shipped by the HyperPod DLAMI) for container jobs and move their data off
   * the root volume.
   * @default true
   */
  readonly containers?: boolean;
  /**
   * Files fetched in parallel by the `preload` command.
   * @default 16
   */
  readonly preloadParallelism?: number;
  /**
   * Experiment-tracking key handed to jobs.
   * @default - none
   */
  readonly experimentTracking?: ExperimentTrackingOptions;
  /**
   * Extra or replaced NCCL/libfabric variables for jobs.
   * @default - EFA settings when the compute nodes have EFA (see ncclEnvironment)
   */
  readonly ncclEnvironment?: Record<string, string>;
  /**
   * Metrics, alerts and job events for this cluster (e.g. `TrainingObservability`): its settings reach the
   * nodes' lifecycle scripts and it is wired to the cluster's roles and events.
   * @default - none
   */
  readonly observability?: IClusterObservability;
  /**
   * Directories under the mount path that every user may write to (mode 1777), created by the controller.
   * @default - `users` and the directory of every data repository that exports to S3 (e.g. checkpoints)
   */
  readonly userDirectories?: string[];
  /**
   * Bucket for the lifecycle scripts (name it `sagemaker-…` or it needs the grants this construct adds).
   * @default - a new bucket named `sagemaker-lifecycle-<stack UUID>`
   */
  readonly lifecycleBucket?: s3.IBucket;
  /**
   * Access-log bucket for a new lifecycle bucket.
   * @default - a new access-log bucket
   */
  readonly accessLogsBucket?: s3.IBucket;
  /**
   * Tags on the cluster.
   * @default - none
   */
  readonly tags?: Record<string, string>;
}

/** The controller or login group: a name, a type and a count; its node type is implied. */
export interface ClusterSupportGroupOptions {
  /**
   * Group name.
   * @default 'controller' or 'login'
   */
  readonly name?: string;
  /** SageMaker instance type, e.g. `ml.m5.12xlarge`. */
  readonly instanceType: string;
  /**
   * Number of nodes (the controller group has exactly one).
   * @default 1
   */
  readonly count?: number;
  /**
   * EBS volume at /opt/sagemaker, GiB.
   * @default - see InstanceGroupOptions
   */
  readonly ebsVolumeSizeGiB?: number;
  /**
   * Threads per core, 1 or 2.
   * @default - see InstanceGroupOptions
   */
  readonly threadsPerCore?: number;
}

interface PlannedGroup extends InstanceGroupOptions { readonly nodeType: SlurmNodeType }

/**
 * A SageMaker HyperPod cluster orchestrated by Slurm, configured through the API: node types and one
 * partition per compute group, the Lustre file system mounted by HyperPod, deep health checks, automatic node
 * recovery, and lifecycle scripts shipped in this package at a content-addressed S3 prefix.
 */
export class HyperPodCluster extends Resource implements IHyperPodCluster {
  /** Refer to an existing cluster. */
  public static fromHyperPodClusterAttributes(scope: Construct, id: string, attrs: HyperPodClusterAttributes): IHyperPodCluster {
    class Imported extends Resource implements IHyperPodCluster {
      public readonly clusterName = attrs.clusterName;
      public readonly clusterArn = attrs.clusterArn ?? Stack.of(scope).formatArn({
        service: 'sagemaker', resource: 'cluster', resourceName: attrs.clusterName,
        arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
      });
      public readonly executionRole = attrs.executionRole;
      public readonly controllerRole = attrs.controllerRole ?? attrs.executionRole;
      public readonly connections = new ec2.Connections({ securityGroups: [attrs.securityGroup] });
    }
    return new Imported(scope, id);
  }

  /** @deprecated Use `fromHyperPodClusterAttributes`, named after the class like every import of this library. */
  public static fromClusterAttributes(scope: Construct, id: string, attrs: HyperPodClusterAttributes): IHyperPodCluster {
    return HyperPodCluster.fromHyperPodClusterAttributes(scope, id, attrs);
  }

  public readonly clusterName: string;
  public readonly clusterArn: string;
  public readonly executionRole: iam.IRole;
  public readonly controllerRole: iam.IRole;
  public readonly connections: ec2.Connections;
  /** The scripts every node runs when it is created. */
  public readonly lifecycleScripts: LifecycleScripts;
  /** The L1 cluster. */
  public readonly resource: sagemaker.CfnCluster;
  /** Names of the compute groups (= Slurm partitions). */
  public readonly partitions: string[];

  constructor(scope: Construct, id: string, props: HyperPodClusterProps) {
    super(scope, id);
    requireProp(this, 'network', props.network, 'the TrainingNetwork or TrainingNetwork.fromTrainingNetworkAttributes the nodes run in');
    requireProp(this, 'controllerGroup', props.controllerGroup, "the Slurm controller's instance group, e.g. { instanceType: 'ml.m5.xlarge' }");
    requireProp(this, 'computeGroups', props.computeGroups, "a list of compute groups, e.g. [{ name: 'gpu', instanceType: 'ml.p5.48xlarge', count: 2 }]");
    const groups = planGroups(props);
    // Every mistake is recorded on the tree, so `cdk synth` lists them all; the cluster builds from the values as given.
    collectConfigurationErrors(this, () => validateCluster(this, props, groups));
    this.clusterName = props.clusterName ?? defaultClusterName(this);
    this.partitions = props.computeGroups.map((g) => g.name);
    this.connections = new ec2.Connections({ securityGroups: [props.network.efaSecurityGroup] });
    if (props.storage) allowLustre(props.storage, this.connections);

    this.controllerRole = new ClusterExecutionRole(this, 'ControllerRole', { description: `${this.node.path}: Slurm controller` });
    this.executionRole = new ClusterExecutionRole(this, 'ExecutionRole', { description: `${this.node.path}: login and compute nodes` });
    this.lifecycleScripts = new LifecycleScripts(this, 'LifecycleScripts', {
      settings: this.settings(props, groups),
      bucket: props.lifecycleBucket,
      accessLogsBucket: props.accessLogsBucket,
    });
    for (const role of [this.controllerRole, this.executionRole]) {
      this.lifecycleScripts.grantRead(role);
      if (props.storage instanceof LustreStorage) grantDataRepositories(role, props.storage.dataRepositories);
    }
    props.experimentTracking?.secret.grantRead(this.executionRole);

    this.resource = new sagemaker.CfnCluster(this, 'Resource', {
      clusterName: this.clusterName,
      nodeRecovery: props.nodeRecovery ?? NodeRecovery.AUTOMATIC,
      nodeProvisioningMode: props.continuousProvisioning ? 'Continuous' : undefined,
      // Continuous provisioning rejects a request that sets the strategy (it always merges).
      orchestrator: { slurm: {
        slurmConfigStrategy: props.continuousProvisioning ? undefined : props.slurmConfigStrategy ?? SlurmConfigStrategy.MERGE,
      } },
      vpcConfig: {
        securityGroupIds: [props.network.efaSecurityGroup.securityGroupId],
        subnets: [props.network.computeSubnet.subnetId],
      },
      instanceGroups: groups.map((g) => this.renderGroup(g, props)),
    });
    // The scripts must be in S3, and the roles' policies in place, before HyperPod starts the nodes.
    this.resource.node.addDependency(this.lifecycleScripts.deployment, this.controllerRole, this.executionRole);
    for (const [key, value] of Object.entries(props.tags ?? {})) Tags.of(this.resource).add(key, value);
    this.clusterArn = this.resource.attrClusterArn;
    props.observability?.monitor(this);
  }

  private renderGroup(group: PlannedGroup, props: HyperPodClusterProps): sagemaker.CfnCluster.ClusterInstanceGroupProperty {
    const accelerators = hasAccelerators(group.instanceType);
    const storage: sagemaker.CfnCluster.ClusterInstanceStorageConfigProperty[] = [
      { ebsVolumeConfig: { volumeSizeInGb: group.ebsVolumeSizeGiB ?? (accelerators ? DEFAULT_ACCELERATED_EBS_GIB : DEFAULT_CPU_EBS_GIB) } },
    ];
    if (props.storage) {
      storage.push({ fsxLustreConfig: {
        dnsName: props.storage.dnsName, mountName: props.storage.mountName, mountPath: props.mountPath ?? '/fsx',
      } });
    }
    const checks = group.deepHealthChecks ?? defaultHealthChecks(group);
    return {
      instanceGroupName: group.name,
      instanceType: group.instanceType,
      instanceCount: group.count,
      executionRole: (group.nodeType === SlurmNodeType.CONTROLLER ? this.controllerRole : this.executionRole).roleArn,
      threadsPerCore: group.threadsPerCore ?? (accelerators ? 1 : 2),
      // OnInitComplete, not OnCreate: with SlurmConfig, HyperPod configures and starts Slurm itself; OnCreate is
      // the legacy mode in which the scripts would have to.
      lifeCycleConfig: { sourceS3Uri: this.lifecycleScripts.sourceS3Uri, onInitComplete: ON_INIT_COMPLETE_SCRIPT },
      instanceStorageConfigs: storage,
      onStartDeepHealthChecks: checks.length > 0 ? checks : undefined,
      trainingPlanArn: group.trainingPlanArn,
      overrideVpcConfig: group.subnet ? {
        securityGroupIds: [props.network.efaSecurityGroup.securityGroupId],
        subnets: [group.subnet.subnetId],
      } : undefined,
      slurmConfig: {
        nodeType: group.nodeType,
        partitionNames: group.nodeType === SlurmNodeType.COMPUTE ? [group.name] : undefined,
      },
    };
  }

  /** The contract with lib/cluster/lifecycle (docs/lifecycle.md): everything the scripts may not hard-code. */
  private settings(props: HyperPodClusterProps, groups: PlannedGroup[]): ClusterSettingsFile {
    return {
      schemaVersion: 1,
      clusterName: this.clusterName,
      region: Stack.of(this).region,
      fsx: props.storage
        ? {
          mountPath: props.mountPath ?? '/fsx',
          dnsName: props.storage.dnsName,
          mountName: props.storage.mountName,
          userDirectories: props.userDirectories ?? defaultUserDirectories(props.storage),
          dataRepositories: props.storage instanceof LustreStorage ? props.storage.dataRepositories.map((r) => ({
            fileSystemPath: r.fileSystemPath, s3Uri: r.dataRepositoryPath, exported: exportsToS3(r),
          })) : [],
        }
        : null,
      slurm: {
        partitions: Object.fromEntries(props.computeGroups.map((g) => [g.name, g.count])),
      },
      instanceGroups: Object.fromEntries(groups.map((g) => [g.name, g.nodeType])),
      features: { containers: props.containers ?? true },
      nccl: {
        ...ncclEnvironment(props.computeGroups.map((g) => g.instanceType)),
        ...props.ncclEnvironment,
      },
      preload: { parallelism: props.preloadParallelism ?? 16 },
      experimentTracking: props.experimentTracking ? {
        secretArn: props.experimentTracking.secret.secretArn,
        envVar: props.experimentTracking.environmentVariable ?? 'WANDB_API_KEY',
      } : null,
      ...props.observability?.nodeSettings(),
    };
  }
}

/** Lustre both ways (LNet connects in both directions); rules that exist already are not added twice. */
function allowLustre(storage: ILustreStorage, nodes: ec2.Connections): void {
  for (const port of LUSTRE_PORTS) {
    storage.connections.allowFrom(nodes, port, 'Lustre from cluster nodes');
    storage.connections.allowTo(nodes, port, 'Lustre to cluster nodes');
  }
}

/** `<stack name>-<id>`: unique in the account and Region because the stack name is; hashed when too long. */
function defaultClusterName(scope: Construct): string {
  const stackName = Stack.of(scope).stackName;
  if (Token.isUnresolved(stackName)) return Names.uniqueResourceName(scope, { maxLength: 63, separator: '-' });
  const name = `${stackName}-${scope.node.id}`.replace(/[^A-Za-z0-9-]/g, '-').replace(/-+/g, '-').replace(/^-|-$/g, '');
  if (name.length <= 63) return name;
  const hash = crypto.createHash('sha256').update(`${stackName}/${scope.node.path}`).digest('hex').slice(0, 8);
  return `${name.slice(0, 54).replace(/-+$/, '')}-${hash}`;
}

/** An association that exports file-system changes to S3 is written by jobs (e.g. checkpoints). */
function exportsToS3(repository: DataRepositoryAssociation): boolean {
  const s3Config = repository.resource.s3 as fsx.CfnDataRepositoryAssociation.S3Property | undefined;
  const policy = s3Config?.autoExportPolicy as fsx.CfnDataRepositoryAssociation.AutoExportPolicyProperty | undefined;
  return (policy?.events as string[] | undefined ?? []).length > 0;
}

function defaultUserDirectories(storage: ILustreStorage): string[] {
  const exported = storage instanceof LustreStorage
    ? storage.dataRepositories.filter(exportsToS3).map((r) => r.fileSystemPath.replace(/^\/+/, ''))
    : [];
  return ['users', ...exported];
}

/**
 * Nodes reach the data behind the file system directly too (`aws s3 sync`, export and serving steps): read
 * on every association's prefix, write on the ones that export, and the bucket keys for both.
 */
function grantDataRepositories(role: iam.IRole, repositories: readonly DataRepositoryAssociation[]): void {
  repositories.forEach((repository, i) => {
    const writable = exportsToS3(repository);
    const actions = writable
      ? ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts']
      : ['s3:GetObject'];
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: `ListDataRepository${i}`,
      actions: ['s3:ListBucket'],
      resources: [repository.bucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': [repository.prefix, `${repository.prefix}*`] } },
    }));
    const objects = repository.bucket.arnForObjects(`${repository.prefix}*`);
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: `${writable ? 'ReadWrite' : 'Read'}DataRepository${i}`,
      actions,
      resources: [objects],
    }));
    const key = repository.bucket.encryptionKey;
    if (key) {
      role.addToPrincipalPolicy(new iam.PolicyStatement({
        sid: `DataRepositoryKey${i}`,
        actions: writable ? ['kms:Decrypt', 'kms:GenerateDataKey'] : ['kms:Decrypt'],
        resources: [key.keyArn],
      }));
    }
    // Computed from the statement's own ARN: right for a bucket of this stack or an imported one, in any environment.
    const policy = role.node.tryFindChild('DefaultPolicy');
    if (policy) {
      acknowledgeWildcardResources(policy, [objects],
        `Nodes read${writable ? ' and write' : ''} the objects under the data repository prefix ${repository.prefix} only.`);
    }
  });
}

function planGroups(props: HyperPodClusterProps): PlannedGroup[] {
  const support = (options: ClusterSupportGroupOptions, name: string, nodeType: SlurmNodeType): PlannedGroup => ({
    ...options, name: options.name ?? name, count: options.count ?? 1, nodeType,
  });
  return [
    support(props.controllerGroup, 'controller', SlurmNodeType.CONTROLLER),
    ...(props.loginGroup ? [support(props.loginGroup, 'login', SlurmNodeType.LOGIN)] : []),
    ...props.computeGroups.map((g) => ({ ...g, nodeType: SlurmNodeType.COMPUTE })),
  ];
}

function validateCluster(scope: IConstruct, props: HyperPodClusterProps, groups: PlannedGroup[]): void {
  if (props.clusterName !== undefined) {
    requireMatch(scope, 'clusterName', props.clusterName, INSTANCE_GROUP_NAME,
      'letters, digits and hyphens, starting and ending with a letter or digit, at most 63 characters');
  }
  if (props.continuousProvisioning && props.slurmConfigStrategy !== undefined) {
    reportError(scope, 'slurmConfigStrategy',
      `must be unset with continuousProvisioning (continuous provisioning supports only Merge and rejects `
      + `requests that set the strategy), got '${props.slurmConfigStrategy}'`);
  }
  if (props.computeGroups.length === 0) reportError(scope, 'computeGroups', 'must have at least one group, got none');
  groups.forEach((group) => validateInstanceGroup(scope, groupField(props, group), group));
  if (props.controllerGroup.count !== undefined) {
    requireIntegerInRange(scope, 'controllerGroup.count', props.controllerGroup.count, 1, 1);
  }
  requireUniqueNames(scope, groups);
  requireMountPath(scope, props.mountPath);
  requireSubnetCapacity(scope, props.network, groups);
  groups.forEach((group) => requireTrainingPlanAz(scope, props.network, group));
  if (props.preloadParallelism !== undefined) {
    requireIntegerInRange(scope, 'preloadParallelism', props.preloadParallelism, 1, 256);
  }
  if (props.storage) requireStorageInNetwork(scope, 'storage', props.storage, props.network);
}

function groupField(props: HyperPodClusterProps, group: PlannedGroup): string {
  if (group.nodeType === SlurmNodeType.CONTROLLER) return 'controllerGroup';
  if (group.nodeType === SlurmNodeType.LOGIN) return 'loginGroup';
  return `computeGroups[${props.computeGroups.findIndex((g) => g.name === group.name)}]`;
}

function requireUniqueNames(scope: IConstruct, groups: PlannedGroup[]): void {
  const seen = new Set<string>();
  for (const group of groups) {
    if (seen.has(group.name)) {
      reportError(scope, 'instance group names',
        `must be unique in the cluster, got '${group.name}' twice (names: ${groups.map((g) => g.name).join(', ')})`);
      return;
    }
    seen.add(group.name);
  }
}

function requireMountPath(scope: IConstruct, mountPath: string | undefined): void {
  if (mountPath === undefined) return;
  requireMatch(scope, 'mountPath', mountPath, /^\/[A-Za-z0-9_.\-/]*[A-Za-z0-9_.\-]$/, "an absolute path such as '/fsx'");
}

/** The groups in the compute subnet need their addresses; file-system and endpoint ENIs share it. */
function requireSubnetCapacity(scope: IConstruct, network: ITrainingNetwork, groups: PlannedGroup[]): void {
  const cidr = network.computeSubnet.ipv4CidrBlock;
  if (cidr === undefined || Token.isUnresolved(cidr)) return;
  const inSubnet = groups.filter((g) => !g.subnet);
  // A group with an unknown type or a wrong count is reported by validateInstanceGroup; its size is unknown.
  if (inSubnet.some((g) => !findHyperPodInstanceType(g.instanceType) || !Number.isInteger(g.count) || g.count < 1)) return;
  const needed = addressesForNodes(scope, 'instance groups', inSubnet);
  const available = usableAddresses(cidrMaskOf(cidr));
  if (needed <= available) return;
  reportError(scope, 'instance groups',
    `need ${needed} IP addresses in the compute subnet (${inSubnet.map((g) => `${g.count} x ${g.instanceType}`).join(', ')}), `
    + `got ${cidr} with ${available} usable: plan the network for these nodes (TrainingNetwork plannedNodes)`);
}

function requireTrainingPlanAz(scope: IConstruct, network: ITrainingNetwork, group: PlannedGroup): void {
  const wanted = group.trainingPlanAvailabilityZoneId;
  if (!wanted) return;
  const actual = group.subnet ? undefined : network.availabilityZoneId;
  if (actual === undefined || Token.isUnresolved(actual)) {
    Annotations.of(scope).addWarningV2('cdk-hyperpod-training:trainingPlanAz',
      `${group.name}: cannot check that its subnet is in ${wanted}, the training plan's AZ: choose the network's AZ by availabilityZoneId`);
    return;
  }
  if (actual !== wanted) {
    reportError(scope, `${group.name}.trainingPlanAvailabilityZoneId`,
      `must match the AZ of the group's subnet (${actual}): the training plan's capacity is in ${wanted}`);
  }
}
