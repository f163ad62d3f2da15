/*
 * The GPUs this library knows, as their vendors specify them. Pure data: the planner's models and the constructs
 * both read it (lib/catalog imports nothing).
 */

/** The GPUs the library knows; the value is the id used by the CLI (`--gpu h100-80gb`). */
export enum GpuType {
  A10G_24GB = 'a10g-24gb',
  A100_40GB = 'a100-40gb',
  A100_80GB = 'a100-80gb',
  H100_80GB = 'h100-80gb',
  H100_94GB = 'h100-94gb',
  H200_141GB = 'h200-141gb',
}

/** GPU generation; the throughput model has one fitted efficiency per generation. */
export enum GpuArchitecture {
  AMPERE = 'ampere',
  HOPPER = 'hopper',
}

/** What is known about one GPU. */
export interface GpuSpec {
  readonly type: GpuType;
  /** Display name, e.g. `H100 80GB`. */
  readonly name: string;
  readonly architecture: GpuArchitecture;
  /**
   * Memory as sold ("80 GB"). The published 80% rule compares the estimate in GiB against this number, as the
   * estimator's own search tool does; an "80 GB" H100 has 80 GiB of HBM.
   */
  readonly memoryGB: number;
  /** Dense (no sparsity) BF16 tensor-core peak, TFLOP/s. */
  readonly denseBf16Tflops: number;
  /** Device memory bandwidth, TB/s (element-wise kernels are bound by it). */
  readonly memoryBandwidthTBps: number;
  /** GPU-to-GPU bandwidth inside a node, GB/s per GPU and direction (NVLink; PCIe when there is none). */
  readonly intraNodeGBps: number;
}

/** Vendor datasheet figures (SXM parts). */
export const GPU_CATALOG: readonly GpuSpec[] = [
  // A10G (AWS G5): GDDR6, no NVLink; about 70 dense BF16 TFLOP/s, well below the A10's 125.
  gpu(GpuType.A10G_24GB, 'A10G 24GB', GpuArchitecture.AMPERE, 24, 70, 0.6, 16),
  gpu(GpuType.A100_40GB, 'A100 40GB', GpuArchitecture.AMPERE, 40, 312, 1.555, 300),
  gpu(GpuType.A100_80GB, 'A100 80GB', GpuArchitecture.AMPERE, 80, 312, 2.039, 300),
  gpu(GpuType.H100_80GB, 'H100 80GB', GpuArchitecture.HOPPER, 80, 989, 3.35, 450),
  // The SXM5 94 GB part of TSUBAME 4.0 (HBM2e, about 2.4 TB/s), where the Llama-3.1-8B grid was measured.
  gpu(GpuType.H100_94GB, 'H100 94GB', GpuArchitecture.HOPPER, 94, 989, 2.4, 450),
  gpu(GpuType.H200_141GB, 'H200 141GB', GpuArchitecture.HOPPER, 141, 989, 4.8, 450),
];

function gpu(type: GpuType, name: string, architecture: GpuArchitecture, memoryGB: number, denseBf16Tflops: number,
  memoryBandwidthTBps: number, intraNodeGBps: number): GpuSpec {
  return { type, name, architecture, memoryGB, denseBf16Tflops, memoryBandwidthTBps, intraNodeGBps };
}
