import { findHyperPodInstanceType } from '../catalog/hyperpod-instance-types';

/**
 * The NCCL and libfabric environment for jobs, in one place (written by the lifecycle scripts to
 * /etc/profile.d and a file Slurm jobs source). EFA variables only when the compute nodes have EFA.
 */
export function ncclEnvironment(computeInstanceTypes: readonly string[]): Record<string, string> {
  const efa = computeInstanceTypes.some((t) => (findHyperPodInstanceType(t)?.efaInterfaces ?? 0) > 0);
  const common = {
    // Keep NCCL's bootstrap off container bridges and loopback.
    NCCL_SOCKET_IFNAME: '^docker,lo,veth',
    NCCL_DEBUG: 'WARN',
  };
  if (!efa) return common;
  return {
    ...common,
    FI_PROVIDER: 'efa',
    // GPUDirect RDMA over EFA (p4d, p5 and later).
    FI_EFA_USE_DEVICE_RDMA: '1',
    // Python workers fork; libfabric must register memory fork-safely.
    FI_EFA_FORK_SAFE: '1',
    NCCL_NET_GDR_LEVEL: 'SYS',
  };
}
