import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { IConstruct } from 'constructs';
import { findHyperPodInstanceType, HYPERPOD_INSTANCE_TYPES, MAX_EBS_VOLUME_GIB } from '../catalog/hyperpod-instance-types';
import { nearest, reportError } from '../core/configuration-error';
import { requireIntegerInRange, requireMatch, requireOneOf } from '../core/validation';

/** The role of an instance group's nodes in Slurm. */
export enum SlurmNodeType {
  /** slurmctld: exactly one group. */
  CONTROLLER = 'Controller',
  /** Where users log in and submit jobs. */
  LOGIN = 'Login',
  /** slurmd: runs the jobs; one partition per compute group. */
  COMPUTE = 'Compute',
}

/** Checks HyperPod runs on new nodes before they join the cluster. */
export enum DeepHealthCheck {
  /** CPU, memory, disk and GPU stress, DCGM diagnostics, EFA loopback. */
  INSTANCE_STRESS = 'InstanceStress',
  /**
   * Multi-node NCCL all-reduce across the group: needs 2 or more nodes with EFA (HyperPod supports it only on
   * instances with multi-node GPU communication, not e.g. on ml.g5.2xlarge).
   */
  INSTANCE_CONNECTIVITY = 'InstanceConnectivity',
}

/** One instance group of a HyperPod Slurm cluster. */
export interface InstanceGroupOptions {
  /** Group name, unique in the cluster: letters, digits and hyphens, at most 63 characters. */
  readonly name: string;
  /** SageMaker instance type, e.g. `ml.p5.48xlarge` (see `HYPERPOD_INSTANCE_TYPES`). */
  readonly instanceType: string;
  /** Number of nodes. */
  readonly count: number;
  /**
   * Threads per core: 1 turns hyperthreading off (usual for GPU training), 2 keeps it on.
   * @default - 1 for GPU/accelerator types, 2 otherwise
   */
  readonly threadsPerCore?: number;
  /**
   * Size of the extra EBS volume mounted at /opt/sagemaker, GiB (1-16384).
   * @default - 500 for GPU/accelerator types, 100 otherwise
   */
  readonly ebsVolumeSizeGiB?: number;
  /**
   * Deep health checks on node start.
   * @default - InstanceStress for accelerator groups, plus InstanceConnectivity for EFA groups of 2+ nodes;
   * none for CPU groups
   */
  readonly deepHealthChecks?: DeepHealthCheck[];
  /**
   * ARN of a SageMaker training plan that provides this group's capacity.
   * @default - on-demand or reserved capacity of the account
   */
  readonly trainingPlanArn?: string;
  /**
   * AZ ID the training plan's capacity is in (e.g. `use1-az6`), checked against the group's subnet.
   * @default - not checked
   */
  readonly trainingPlanAvailabilityZoneId?: string;
  /**
   * Put this group in another subnet (with the network's EFA security group).
   * @default - the network's compute subnet
   */
  readonly subnet?: ec2.ISubnet;
}

/** Partition and group-name rule of HyperPod. */
export const INSTANCE_GROUP_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;

/** True for GPU and Trainium types, whose groups get health checks and hyperthreading off by default. */
export function hasAccelerators(instanceType: string): boolean {
  return (findHyperPodInstanceType(instanceType)?.acceleratorsPerNode ?? 0) > 0;
}

/** True for types with EFA interfaces: the only ones whose groups can run the InstanceConnectivity check. */
export function hasEfa(instanceType: string): boolean {
  return (findHyperPodInstanceType(instanceType)?.efaInterfaces ?? 0) > 0;
}

/** The deep health checks a group gets when it does not say. */
export function defaultHealthChecks(group: InstanceGroupOptions): DeepHealthCheck[] {
  if (!hasAccelerators(group.instanceType)) return [];
  return group.count >= 2 && hasEfa(group.instanceType)
    ? [DeepHealthCheck.INSTANCE_STRESS, DeepHealthCheck.INSTANCE_CONNECTIVITY]
    : [DeepHealthCheck.INSTANCE_STRESS];
}

/** Every rule one group must satisfy on its own, each reported (see reportError); `field` is e.g. `computeGroups[0]`. */
export function validateInstanceGroup(scope: IConstruct, field: string, group: InstanceGroupOptions): void {
  requireMatch(scope, `${field}.name`, group.name, INSTANCE_GROUP_NAME,
    'letters, digits and hyphens, starting and ending with a letter or digit, at most 63 characters');
  const known = findHyperPodInstanceType(group.instanceType) !== undefined;
  if (!known) {
    const names = HYPERPOD_INSTANCE_TYPES.map((t) => t.name);
    reportError(scope, `${field}.instanceType`,
      `must be a HyperPod instance type (${names.join(', ')}), got '${group.instanceType}'${nearest(group.instanceType, names)}`);
  }
  requireIntegerInRange(scope, `${field}.count`, group.count, 1, 10000);
  if (group.threadsPerCore !== undefined) requireOneOf(scope, `${field}.threadsPerCore`, group.threadsPerCore, [1, 2]);
  if (group.ebsVolumeSizeGiB !== undefined) {
    requireIntegerInRange(scope, `${field}.ebsVolumeSizeGiB`, group.ebsVolumeSizeGiB, 1, MAX_EBS_VOLUME_GIB);
  }
  // SageMaker API Reference, TrainingPlanSummary.TrainingPlanArn: arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:[0-9]{12}:training-plan/.*
  if (group.trainingPlanArn !== undefined) {
    requireMatch(scope, `${field}.trainingPlanArn`, group.trainingPlanArn, /^arn:aws[a-z-]*:sagemaker:[a-z0-9-]*:[0-9]{12}:training-plan\/.+$/,
      "a training plan ARN such as 'arn:aws:sagemaker:us-east-1:123456789012:training-plan/my-plan'");
  }
  // Which checks a type can run depends on the type: an unknown one is reported once, above.
  if (known) validateHealthChecks(scope, field, group);
}

function validateHealthChecks(scope: IConstruct, field: string, group: InstanceGroupOptions): void {
  const checks = group.deepHealthChecks ?? [];
  if (checks.length > 0 && !hasAccelerators(group.instanceType)) {
    reportError(scope, `${field}.deepHealthChecks`,
      `run on GPU and Trainium instances only, got [${checks.join(', ')}] for ${group.instanceType}`);
  }
  if (checks.includes(DeepHealthCheck.INSTANCE_CONNECTIVITY) && !hasEfa(group.instanceType)) {
    reportError(scope, `${field}.deepHealthChecks`,
      `InstanceConnectivity runs only on instance types with EFA (multi-node GPU communication), got ${group.instanceType}; `
      + 'use [InstanceStress]');
  }
  if (checks.includes(DeepHealthCheck.INSTANCE_CONNECTIVITY) && group.count < 2) {
    reportError(scope, `${field}.deepHealthChecks`,
      `InstanceConnectivity needs a group of 2 or more nodes, got count ${group.count}`);
  }
}
