import {
  DEFAULT_ACCELERATED_EBS_GIB, DEFAULT_CPU_EBS_GIB, FILE_SYSTEM_NETWORK_INTERFACES, findHyperPodInstanceType,
  HYPERPOD_INSTANCE_TYPES, HyperPodInstanceTypeInfo, MAX_EBS_VOLUME_GIB,
} from '../catalog/hyperpod-instance-types';
import { CLUSTER_INTERFACE_ENDPOINT_IDS } from '../catalog/interface-endpoints';
import { nearest, PlannerInputError, requirePositiveInteger } from './errors';

/** Service Quotas service codes of the quotas a HyperPod deployment needs. */
export enum QuotaServiceCode {
  SAGEMAKER = 'sagemaker',
  VPC = 'vpc',
}

/** What a group of nodes is in the Slurm cluster. */
export enum NodeRole {
  CONTROLLER = 'controller',
  LOGIN = 'login',
  COMPUTE = 'compute',
}

/** One instance group of the cluster. */
export interface QuotaNodeGroup {
  readonly role: NodeRole;
  /** SageMaker instance type, e.g. `ml.p5.48xlarge`. */
  readonly instanceType: string;
  readonly count: number;
  /**
   * EBS volume per node, GiB (HyperPod mounts it at /opt/sagemaker).
   * @default 500 on accelerated types, 100 on CPU types (HyperPodCluster's defaults)
   */
  readonly ebsVolumeGiB?: number;
}

/** What gets deployed, as far as quotas are concerned. */
export interface DeploymentShape {
  /** The instance groups: controller, optional login, compute. */
  readonly groups: readonly QuotaNodeGroup[];
  /**
   * An FSx for Lustre file system in the VPC.
   * @default true
   */
  readonly fileSystem?: boolean;
  /**
   * Interface VPC endpoints in the compute subnet (one network interface each).
   * @default 0
   */
  readonly interfaceEndpoints?: number;
  /**
   * A NAT gateway (one network interface).
   * @default true
   */
  readonly natGateway?: boolean;
}

/** One quota and the value this deployment needs at least. */
export interface QuotaRequirement {
  readonly serviceCode: QuotaServiceCode;
  /** The quota's name as Service Quotas lists it. */
  readonly quotaName: string;
  /** The quota code when confirmed; undefined: the quota is looked up by name at check time. */
  readonly quotaCode?: string;
  /** The smallest quota value this deployment fits in, on its own. */
  readonly required: number;
  readonly unit: string;
  /** How `required` adds up, in words. */
  readonly basis: string;
}

/** Quota names AWS lists in its HyperPod prerequisites. */
export const INSTANCES_PER_CLUSTER_QUOTA = 'Maximum number instances allowed per SageMaker HyperPod cluster';
export const INSTANCES_ACROSS_CLUSTERS_QUOTA = 'Total number of instances allowed across SageMaker HyperPod clusters';
export const EBS_VOLUME_SIZE_QUOTA = 'Maximum size of EBS volume in GB for a SageMaker HyperPod cluster instance';
export const NETWORK_INTERFACES_QUOTA = 'Network interfaces per Region';

/**
 * Quota codes confirmed in public sources: the sagemaker ones in a ListServiceQuotas snapshot (the p4d, p4de, p5,
 * g6e.12xlarge, g6e.48xlarge and HyperPod codes also agree with an independent account listing), the vpc one on
 * AWS's HyperPod prerequisites page. Catalog types missing here (p5e, p5en, p6-b200, trn1, trn1n, trn2) are looked
 * up by name: no code is guessed.
 */
export const CONFIRMED_QUOTA_CODES: Readonly<Record<string, string>> = {
  [INSTANCES_PER_CLUSTER_QUOTA]: 'L-2CE978FC',
  [INSTANCES_ACROSS_CLUSTERS_QUOTA]: 'L-3308CCC7',
  [EBS_VOLUME_SIZE_QUOTA]: 'L-E13DF72A',
  [NETWORK_INTERFACES_QUOTA]: 'L-DF5E4CA3',
  'ml.p4d.24xlarge for cluster usage': 'L-47E0BC8F',
  'ml.p4de.24xlarge for cluster usage': 'L-BEF3120E',
  'ml.p5.48xlarge for cluster usage': 'L-8762A75F',
  'ml.g5.xlarge for cluster usage': 'L-4645950E',
  'ml.g5.2xlarge for cluster usage': 'L-596C3331',
  'ml.g5.4xlarge for cluster usage': 'L-8A6C3F0E',
  'ml.g5.8xlarge for cluster usage': 'L-1619F5B7',
  'ml.g5.12xlarge for cluster usage': 'L-24E5A1B2',
  'ml.g5.16xlarge for cluster usage': 'L-86822EDB',
  'ml.g5.24xlarge for cluster usage': 'L-EED7F51C',
  'ml.g5.48xlarge for cluster usage': 'L-D7D95295',
  'ml.g6e.12xlarge for cluster usage': 'L-A15DF696',
  'ml.g6e.24xlarge for cluster usage': 'L-CCEE4B8C',
  'ml.g6e.48xlarge for cluster usage': 'L-177AF1AD',
  'ml.m5.large for cluster usage': 'L-E64F3C7F',
  'ml.m5.xlarge for cluster usage': 'L-E9225B85',
  'ml.m5.2xlarge for cluster usage': 'L-60995545',
  'ml.m5.4xlarge for cluster usage': 'L-24520F3F',
  'ml.m5.8xlarge for cluster usage': 'L-5C47EA70',
  'ml.m5.12xlarge for cluster usage': 'L-E2A0AC0F',
  'ml.m5.16xlarge for cluster usage': 'L-048C491E',
  'ml.m5.24xlarge for cluster usage': 'L-B232DF69',
  'ml.c5.large for cluster usage': 'L-B644CD97',
  'ml.c5.xlarge for cluster usage': 'L-AD3B35FF',
  'ml.c5.2xlarge for cluster usage': 'L-539D704C',
  'ml.c5.4xlarge for cluster usage': 'L-3A6AD204',
  'ml.c5.9xlarge for cluster usage': 'L-9AD1D725',
  'ml.c5.12xlarge for cluster usage': 'L-15BCD638',
  'ml.c5.18xlarge for cluster usage': 'L-819B4B27',
  'ml.c5.24xlarge for cluster usage': 'L-40F00B06',
  'ml.t3.medium for cluster usage': 'L-FD4AD312',
  'ml.t3.large for cluster usage': 'L-7B131A59',
  'ml.t3.xlarge for cluster usage': 'L-E5A7A988',
  'ml.t3.2xlarge for cluster usage': 'L-EC104295',
};

/** Interface endpoints TrainingNetwork adds with `interfaceEndpoints: true` (one network interface each). */
export const CLUSTER_INTERFACE_ENDPOINT_COUNT = CLUSTER_INTERFACE_ENDPOINT_IDS.length;

/** The Service Quotas name of the on-demand HyperPod quota of an instance type. */
export function clusterUsageQuotaName(instanceType: string): string {
  return `${instanceType} for cluster usage`;
}

/** The catalog entry of a HyperPod instance type (`ml.` may be omitted); throws listing the known types. */
export function requireHyperPodInstanceType(field: string, name: string): HyperPodInstanceTypeInfo {
  const full = name.startsWith('ml.') ? name : `ml.${name}`;
  const found = findHyperPodInstanceType(full);
  if (!found) {
    const known = HYPERPOD_INSTANCE_TYPES.map((t) => t.name);
    throw new PlannerInputError(field, `must be a HyperPod instance type: one of ${known.join(', ')}, got '${name}'`
      + nearest(full, known));
  }
  return found;
}

/** The EBS volume each node of the group gets, GiB. */
export function ebsVolumeGiB(group: QuotaNodeGroup): number {
  if (group.ebsVolumeGiB !== undefined) return group.ebsVolumeGiB;
  const info = findHyperPodInstanceType(group.instanceType);
  return info && info.acceleratorsPerNode > 0 ? DEFAULT_ACCELERATED_EBS_GIB : DEFAULT_CPU_EBS_GIB;
}

/** The EBS volumes of all nodes together, GiB. */
export function totalEbsGiB(shape: DeploymentShape): number {
  return shape.groups.reduce((sum, g) => sum + g.count * ebsVolumeGiB(g), 0);
}

/**
 * The service quotas a deployment needs, each with the value it needs on its own: on-demand instances per type
 * "for cluster usage", instances per cluster and across clusters, the per-instance EBS volume size, and network
 * interfaces per Region (one per node, one per EFA card on EFA types, plus file system, endpoints and NAT).
 */
export function requiredQuotas(shape: DeploymentShape): QuotaRequirement[] {
  const groups = shape.groups.map((g, i) => validGroup(g, i));
  if (!groups.some((g) => g.group.role === NodeRole.COMPUTE)) {
    throw new PlannerInputError('groups', 'needs at least one compute group');
  }
  const nodes = groups.reduce((sum, g) => sum + g.group.count, 0);
  const nodeCounts = groups.map((g) => `${g.group.count} ${g.group.role}`).join(' + ');
  return [
    ...instanceTypeQuotas(groups.map((g) => g.group)),
    requirement(QuotaServiceCode.SAGEMAKER, INSTANCES_PER_CLUSTER_QUOTA, nodes, 'instances', nodeCounts),
    requirement(QuotaServiceCode.SAGEMAKER, INSTANCES_ACROSS_CLUSTERS_QUOTA, nodes, 'instances',
      `${nodeCounts} (this cluster; your other clusters add to it)`),
    ebsQuota(groups.map((g) => g.group)),
    networkInterfaceQuota(shape, groups),
  ];
}

interface ValidGroup { readonly group: QuotaNodeGroup; readonly info: HyperPodInstanceTypeInfo }

function validGroup(group: QuotaNodeGroup, i: number): ValidGroup {
  const info = requireHyperPodInstanceType(`groups[${i}].instanceType`, group.instanceType);
  requirePositiveInteger(`groups[${i}].count`, group.count);
  if (group.ebsVolumeGiB !== undefined
    && (!Number.isInteger(group.ebsVolumeGiB) || group.ebsVolumeGiB < 1 || group.ebsVolumeGiB > MAX_EBS_VOLUME_GIB)) {
    throw new PlannerInputError(`groups[${i}].ebsVolumeGiB`,
      `must be an integer from 1 to ${MAX_EBS_VOLUME_GIB} GiB, got ${group.ebsVolumeGiB}`);
  }
  return { group: { ...group, instanceType: info.name }, info };
}

function requirement(serviceCode: QuotaServiceCode, quotaName: string, required: number, unit: string,
  basis: string): QuotaRequirement {
  return { serviceCode, quotaName, quotaCode: CONFIRMED_QUOTA_CODES[quotaName], required, unit, basis };
}

/** One "for cluster usage" quota per instance type, summing the groups that use it. */
function instanceTypeQuotas(groups: readonly QuotaNodeGroup[]): QuotaRequirement[] {
  const byType = new Map<string, QuotaNodeGroup[]>();
  for (const g of groups) byType.set(g.instanceType, [...(byType.get(g.instanceType) ?? []), g]);
  return [...byType].map(([type, same]) => requirement(QuotaServiceCode.SAGEMAKER, clusterUsageQuotaName(type),
    same.reduce((sum, g) => sum + g.count, 0), 'instances', same.map((g) => `${g.count} ${g.role}`).join(' + ')));
}

function ebsQuota(groups: readonly QuotaNodeGroup[]): QuotaRequirement {
  const sizes = groups.map((g) => ({ g, gib: ebsVolumeGiB(g) }));
  const largest = sizes.reduce((a, b) => (b.gib > a.gib ? b : a));
  return requirement(QuotaServiceCode.SAGEMAKER, EBS_VOLUME_SIZE_QUOTA, largest.gib, 'GB',
    `largest per-node volume (${largest.g.role})`);
}

function networkInterfaceQuota(shape: DeploymentShape, groups: readonly ValidGroup[]): QuotaRequirement {
  const endpoints = shape.interfaceEndpoints ?? 0;
  requireCount('interfaceEndpoints', endpoints);
  const parts = groups.map(({ group, info }) => ({
    count: group.count * info.ipAddressesPerNode,
    text: info.efaInterfaces > 0 ? `${group.count} ${group.role} x ${info.ipAddressesPerNode} EFA cards`
      : `${group.count} ${group.role}`,
  }));
  if (shape.fileSystem ?? true) {
    parts.push({ count: FILE_SYSTEM_NETWORK_INTERFACES, text: `${FILE_SYSTEM_NETWORK_INTERFACES} FSx for Lustre` });
  }
  if (endpoints > 0) parts.push({ count: endpoints, text: `${endpoints} interface endpoints` });
  if (shape.natGateway ?? true) parts.push({ count: 1, text: '1 NAT gateway' });
  return requirement(QuotaServiceCode.VPC, NETWORK_INTERFACES_QUOTA, parts.reduce((sum, p) => sum + p.count, 0),
    'network interfaces', parts.map((p) => p.text).join(' + '));
}

function requireCount(field: string, value: number): void {
  if (!Number.isInteger(value) || value < 0) {
    throw new PlannerInputError(field, `must be an integer >= 0, got ${value}`);
  }
}
