import { nearest, PlannerInputError } from './errors';
import { findGpu, GpuSpec, GpuType } from './gpus';

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
 * GPU instance types HyperPod offers (EC2 instance-type specifications). The g5 sizes below 8xlarge have no EFA
 * and "up to" 10/25 Gbit/s; their baseline is lower.
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

/** The instance type names, for messages and `--help`. */
export function instanceTypeNames(): string[] {
  return HYPERPOD_GPU_INSTANCES.map((i) => i.name);
}

/** The instance type with this name (the `ml.` prefix may be omitted); throws listing the valid names. */
export function findInstanceType(name: string): GpuInstanceType {
  const wanted = name.startsWith('ml.') ? name : `ml.${name}`;
  const found = HYPERPOD_GPU_INSTANCES.find((i) => i.name === wanted);
  if (!found) {
    throw new PlannerInputError('instance', `must be one of ${instanceTypeNames().join(', ')}, got '${name}'${nearest(wanted, instanceTypeNames())}`);
  }
  return found;
}

/** The GPU of an instance type. */
export function instanceGpu(instanceType: GpuInstanceType): GpuSpec {
  return findGpu(instanceType.gpu);
}
