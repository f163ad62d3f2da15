import { HYPERPOD_GPU_INSTANCES } from '../planner/instances';

/**
 * What the constructs need to know about a SageMaker HyperPod instance type.
 *
 * `ipAddressesPerNode` is what one node takes from the cluster subnet under Slurm: one address per network
 * card (a p5.48xlarge has 32, AWS HyperPod prerequisites; under EKS it is 81). CPU types take one.
 */
export interface HyperPodInstanceTypeInfo {
  /** The SageMaker instance type, e.g. `ml.p5.48xlarge`. */
  readonly name: string;
  /** GPUs (or accelerators) per node; 0 for CPU instances. */
  readonly acceleratorsPerNode: number;
  /** EFA-capable network interfaces per node; 0 when the type has no EFA. */
  readonly efaInterfaces: number;
  /** IP addresses one node takes from its subnet under Slurm. */
  readonly ipAddressesPerNode: number;
}

function accelerated(name: string, acceleratorsPerNode: number, efaInterfaces: number): HyperPodInstanceTypeInfo {
  return { name, acceleratorsPerNode, efaInterfaces, ipAddressesPerNode: Math.max(1, efaInterfaces) };
}

function cpu(name: string): HyperPodInstanceTypeInfo {
  return { name, acceleratorsPerNode: 0, efaInterfaces: 0, ipAddressesPerNode: 1 };
}

const M5_SIZES = ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', '24xlarge'];
const C5_SIZES = ['large', 'xlarge', '2xlarge', '4xlarge', '9xlarge', '12xlarge', '18xlarge', '24xlarge'];

/**
 * The HyperPod instance types this library knows: the GPU types of the planner's catalog (one source for GPU
 * counts and EFA cards), the accelerator types the planner does not model, and CPU types for controller and
 * login nodes. EC2 network-card counts for the EFA types.
 */
export const HYPERPOD_INSTANCE_TYPES: readonly HyperPodInstanceTypeInfo[] = [
  ...HYPERPOD_GPU_INSTANCES.map((i) => accelerated(i.name, i.gpusPerNode, i.efaInterfaces)),
  accelerated('ml.p6-b200.48xlarge', 8, 8),
  accelerated('ml.trn1.32xlarge', 16, 8),
  accelerated('ml.trn1n.32xlarge', 16, 16),
  accelerated('ml.trn2.48xlarge', 16, 16),
  accelerated('ml.g6e.12xlarge', 4, 1), accelerated('ml.g6e.24xlarge', 4, 2), accelerated('ml.g6e.48xlarge', 8, 4),
  ...M5_SIZES.map((size) => cpu(`ml.m5.${size}`)),
  ...C5_SIZES.map((size) => cpu(`ml.c5.${size}`)),
  cpu('ml.t3.medium'), cpu('ml.t3.large'), cpu('ml.t3.xlarge'), cpu('ml.t3.2xlarge'),
];

/**
 * Subnet addresses an FSx for Lustre file system's network interfaces may take: an allowance (FSx does not
 * document a count; it creates several, growing with capacity). Shared by the subnet sizing and the quotas.
 */
export const FILE_SYSTEM_NETWORK_INTERFACES = 16;

/** The EBS volume HyperPodCluster gives a GPU or accelerator node when none is given, GiB. */
export const DEFAULT_ACCELERATED_EBS_GIB = 500;
/** The EBS volume HyperPodCluster gives a CPU node when none is given, GiB. */
export const DEFAULT_CPU_EBS_GIB = 100;

/** The catalog entry for `name`, or undefined when the type is not known. */
export function findHyperPodInstanceType(name: string): HyperPodInstanceTypeInfo | undefined {
  return HYPERPOD_INSTANCE_TYPES.find((t) => t.name === name);
}
