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

function gpu(name: string, acceleratorsPerNode: number, efaInterfaces: number): HyperPodInstanceTypeInfo {
  return { name, acceleratorsPerNode, efaInterfaces, ipAddressesPerNode: Math.max(1, efaInterfaces) };
}

function cpu(name: string): HyperPodInstanceTypeInfo {
  return { name, acceleratorsPerNode: 0, efaInterfaces: 0, ipAddressesPerNode: 1 };
}

const M5_SIZES = ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', '24xlarge'];
const C5_SIZES = ['large', 'xlarge', '2xlarge', '4xlarge', '9xlarge', '12xlarge', '18xlarge', '24xlarge'];

/** The HyperPod instance types this library knows (EC2 network-card counts for the EFA types). */
export const HYPERPOD_INSTANCE_TYPES: readonly HyperPodInstanceTypeInfo[] = [
  gpu('ml.p4d.24xlarge', 8, 4),
  gpu('ml.p4de.24xlarge', 8, 4),
  gpu('ml.p5.48xlarge', 8, 32),
  gpu('ml.p5e.48xlarge', 8, 32),
  gpu('ml.p5en.48xlarge', 8, 16),
  gpu('ml.p6-b200.48xlarge', 8, 8),
  gpu('ml.trn1.32xlarge', 16, 8),
  gpu('ml.trn1n.32xlarge', 16, 16),
  gpu('ml.trn2.48xlarge', 16, 16),
  gpu('ml.g5.xlarge', 1, 0), gpu('ml.g5.2xlarge', 1, 0), gpu('ml.g5.4xlarge', 1, 0),
  gpu('ml.g5.8xlarge', 1, 1), gpu('ml.g5.12xlarge', 4, 1), gpu('ml.g5.16xlarge', 1, 1),
  gpu('ml.g5.24xlarge', 4, 1), gpu('ml.g5.48xlarge', 8, 1),
  gpu('ml.g6e.12xlarge', 4, 1), gpu('ml.g6e.24xlarge', 4, 2), gpu('ml.g6e.48xlarge', 8, 4),
  ...M5_SIZES.map((size) => cpu(`ml.m5.${size}`)),
  ...C5_SIZES.map((size) => cpu(`ml.c5.${size}`)),
  cpu('ml.t3.medium'), cpu('ml.t3.large'), cpu('ml.t3.xlarge'), cpu('ml.t3.2xlarge'),
];

/** The catalog entry for `name`, or undefined when the type is not known. */
export function findHyperPodInstanceType(name: string): HyperPodInstanceTypeInfo | undefined {
  return HYPERPOD_INSTANCE_TYPES.find((t) => t.name === name);
}
