import { GpuType } from './gpus';

/*
 * The SageMaker HyperPod instance types this library knows, with what the planner and the constructs need of them,
 * and the EBS defaults of their instance groups. Pure data: lib/catalog imports nothing outside itself.
 */

/** A SageMaker HyperPod GPU instance type, with what the planner and the cluster construct need. */
export interface GpuInstanceType {
  /** The SageMaker instance type, e.g. `ml.p5.48xlarge`. */
  readonly name: string;
  readonly gpu: GpuType;
  readonly gpusPerNode: number;
  /** EFA-capable network cards (0: no EFA). Under Slurm a node takes one subnet address per card. */
  readonly efaInterfaces: number;
  /** Network bandwidth per node, Gbit/s (EFA when present). */
  readonly networkGbps: number;
  /** Host memory per node, GiB (bounds the staging buffers of asynchronous checkpointing). */
  readonly hostMemoryGiB: number;
  readonly vcpus: number;
}

function instance(name: string, gpu: GpuType, gpusPerNode: number, efaInterfaces: number, networkGbps: number,
  hostMemoryGiB: number, vcpus: number): GpuInstanceType {
  return { name, gpu, gpusPerNode, efaInterfaces, networkGbps, hostMemoryGiB, vcpus };
}

/**
 * GPU instance types HyperPod offers that the planner models (EC2 instance-type specifications). The g5 sizes below
 * 8xlarge have no EFA and "up to" 10/25 Gbit/s; their baseline is lower.
 */
export const HYPERPOD_GPU_INSTANCES: readonly GpuInstanceType[] = [
  instance('ml.p4d.24xlarge', GpuType.A100_40GB, 8, 4, 400, 1152, 96),
  instance('ml.p4de.24xlarge', GpuType.A100_80GB, 8, 4, 400, 1152, 96),
  instance('ml.p5.48xlarge', GpuType.H100_80GB, 8, 32, 3200, 2048, 192),
  instance('ml.p5e.48xlarge', GpuType.H200_141GB, 8, 32, 3200, 2048, 192),
  instance('ml.p5en.48xlarge', GpuType.H200_141GB, 8, 16, 3200, 2048, 192),
  instance('ml.g5.xlarge', GpuType.A10G_24GB, 1, 0, 10, 16, 4),
  instance('ml.g5.2xlarge', GpuType.A10G_24GB, 1, 0, 10, 32, 8),
  instance('ml.g5.4xlarge', GpuType.A10G_24GB, 1, 0, 25, 64, 16),
  instance('ml.g5.8xlarge', GpuType.A10G_24GB, 1, 1, 25, 128, 32),
  instance('ml.g5.12xlarge', GpuType.A10G_24GB, 4, 1, 40, 192, 48),
  instance('ml.g5.16xlarge', GpuType.A10G_24GB, 1, 1, 25, 256, 64),
  instance('ml.g5.24xlarge', GpuType.A10G_24GB, 4, 1, 50, 384, 96),
  instance('ml.g5.48xlarge', GpuType.A10G_24GB, 8, 1, 100, 768, 192),
];

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
 * The HyperPod instance types this library knows: the GPU types above (one source for GPU counts and EFA cards),
 * the accelerator types the planner does not model, and CPU types for controller and login nodes. EC2
 * network-card counts for the EFA types.
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

/** The catalog entry for `name`, or undefined when the type is not known. */
export function findHyperPodInstanceType(name: string): HyperPodInstanceTypeInfo | undefined {
  return HYPERPOD_INSTANCE_TYPES.find((t) => t.name === name);
}

/**
 * Subnet addresses an FSx for Lustre file system's network interfaces may take: an allowance (FSx does not
 * document a count; it creates several, growing with capacity). Shared by the subnet sizing and the quotas.
 */
export const FILE_SYSTEM_NETWORK_INTERFACES = 16;

/** The EBS volume HyperPodCluster gives a GPU or accelerator node when none is given, GiB. */
export const DEFAULT_ACCELERATED_EBS_GIB = 500;
/** The EBS volume HyperPodCluster gives a CPU node when none is given, GiB. */
export const DEFAULT_CPU_EBS_GIB = 100;
/** The largest EBS volume HyperPod gives an instance group, GiB (`EbsVolumeConfig.VolumeSizeInGB` 1-16384). */
export const MAX_EBS_VOLUME_GIB = 16384;
