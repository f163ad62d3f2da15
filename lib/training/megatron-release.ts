/**
 * The Megatron-LM release the training image pins and the launch scripts are written for.
 *
 * core_v0.15.3 (NVIDIA/Megatron-LM tag, commit 309ffca6, 2026-02-06):
 * - at least core_r0.10.0, which added `--use-rope-scaling` (Llama 3.1/3.3 position scaling) and
 *   `--tp-comm-bootstrap-backend` (tensor-parallel overlap bootstrapped over NCCL, no MPI world under srun);
 * - the last release before core_v0.16.0, which switches `--async-save` off (with only a warning) unless
 *   `--use-persistent-ckpt-worker` is given, and moves the arguments into dataclasses;
 * - `tools/checkpoint/loader_llama_mistral.py`, the Hugging Face Llama loader, is still present (removed in v0.18).
 * Its CI builds on the NGC PyTorch container 25.09 (`.github/workflows/cicd-main.yml:288` and
 * `.gitlab/stages/01.build.yml:58` at that commit), the base of the training image.
 */
export interface MegatronRelease {
  /** Git tag. */
  readonly tag: string;
  /** Commit the tag points to. */
  readonly commit: string;
  /** Major and minor version, for the rules that depend on it: [0, 15] for core_v0.15.3. */
  readonly version: readonly [number, number];
}

export const MEGATRON_RELEASE: MegatronRelease = {
  tag: 'core_v0.15.3',
  commit: '309ffca6a40553362d44fd17efc56b772fa1aa44',
  version: [0, 15],
};

/** The release is `major.minor` or later. */
export function releaseAtLeast(release: MegatronRelease, major: number, minor: number): boolean {
  const [ma, mi] = release.version;
  return ma > major || (ma === major && mi >= minor);
}
