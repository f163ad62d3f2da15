import { GPU_CATALOG, GpuSpec } from '../catalog/gpus';
import { nearest, PlannerInputError } from './errors';

/** The GPU ids, for messages and `--help`. */
export function gpuIds(): string[] {
  return GPU_CATALOG.map((g) => g.type);
}

/** The catalog GPU with this id (case-insensitive); throws a PlannerInputError listing the valid ids. */
export function findGpu(id: string): GpuSpec {
  const found = GPU_CATALOG.find((g) => g.type === id.toLowerCase());
  if (!found) throw new PlannerInputError('gpu', `must be one of ${gpuIds().join(', ')}, got '${id}'${nearest(id, gpuIds())}`);
  return found;
}
