import { GpuSpec } from '../catalog/gpus';
import { GpuInstanceType, HYPERPOD_GPU_INSTANCES } from '../catalog/hyperpod-instance-types';
import { nearest, PlannerInputError } from './errors';
import { findGpu } from './gpus';

/** The instance type names the planner models, for messages and `--help`. */
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
