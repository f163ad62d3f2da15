import { IConstruct } from 'constructs';
import { reportError } from '../core/configuration-error';
import { describe } from '../core/validation';
import { findHyperPodInstanceType, HYPERPOD_INSTANCE_TYPES } from '../catalog/hyperpod-instance-types';

/** Nodes of one instance type that will live in the compute subnet. */
export interface PlannedNodes {
  /** SageMaker instance type, e.g. `ml.p5.48xlarge`. */
  readonly instanceType: string;
  /** How many nodes of this type, at most, the cluster will run. */
  readonly count: number;
}

/** Addresses AWS reserves in every subnet (network, router, DNS, future, broadcast). */
export const AWS_RESERVED_ADDRESSES = 5;

/** IP addresses the planned nodes take from their subnet under Slurm; groups with a reported mistake count 0. */
export function addressesForNodes(scope: IConstruct, field: string, nodes: readonly PlannedNodes[]): number {
  return nodes.reduce((sum, group, i) => {
    const info = findHyperPodInstanceType(group.instanceType);
    if (!info) {
      const known = HYPERPOD_INSTANCE_TYPES.map((t) => t.name).join(', ');
      reportError(scope, `${field}[${i}].instanceType`, `must be a HyperPod instance type (${known}), got '${group.instanceType}'`);
      return sum;
    }
    if (typeof group.count !== 'number') {
      reportError(scope, `${field}[${i}].count`, `must be a number, got ${describe(group.count)}`);
      return sum;
    }
    if (!Number.isInteger(group.count) || group.count < 1) {
      reportError(scope, `${field}[${i}].count`, `must be an integer >= 1, got ${group.count}`);
      return sum;
    }
    return sum + group.count * info.ipAddressesPerNode;
  }, 0);
}

/** Usable addresses in a subnet with this prefix length. */
export function usableAddresses(cidrMask: number): number {
  return 2 ** (32 - cidrMask) - AWS_RESERVED_ADDRESSES;
}

/** The longest prefix (smallest subnet, /28 at most) whose usable addresses hold `required`. */
export function smallestCidrMaskFor(required: number): number {
  let mask = 28;
  while (mask > 16 && usableAddresses(mask) < required) mask--;
  return mask;
}

/** Prefix length of a CIDR block such as `10.0.0.0/21`. */
export function cidrMaskOf(cidr: string): number {
  return Number(cidr.split('/')[1]);
}
