/** The training planner: pure TypeScript, no AWS calls. */
export { PlannerInputError } from './errors';
export { MODEL_CATALOG, countParameters, defineModel, findModel, modelIds } from './models';
export type { ModelArchitecture } from './models';
export { GPU_CATALOG, GpuArchitecture, GpuType, findGpu, gpuIds } from './gpus';
export type { GpuSpec } from './gpus';
export { HYPERPOD_GPU_INSTANCES, findInstanceType, instanceTypeNames } from './instances';
export type { GpuInstanceType } from './instances';
export { Recomputation, layoutProblems, pipelineSplit, validateLayout } from './layout';
export type {
  LayoutContext, ParallelLayout, PipelineSplit, ResolvedTrainingOptions, TrainingOptions,
} from './layout';
export { DEFAULT_MEMORY_THRESHOLD, estimateMemory, memoryVerdict } from './memory';
export type { MemoryEstimate, MemoryInput, MemoryVerdict } from './memory';
export { flopsPerToken } from './flops';
export { FITTED_THROUGHPUT_CONSTANTS, defaultFabric, estimateThroughput, fabricForInstance } from './throughput';
export type {
  ClusterFabric, StepTimeBreakdown, ThroughputConstants, ThroughputEstimate, ThroughputInput,
} from './throughput';
export { searchLayouts } from './search';
export type { LayoutCandidate, SearchInput } from './search';
export {
  DEFAULT_STAGING_GBPS_PER_GPU, FULL_CHECKPOINT_BYTES_PER_PARAMETER, PERSISTENT_2_PER_UNIT_THROUGHPUTS,
  WEIGHTS_ONLY_BYTES_PER_PARAMETER,
  fsxThroughputMBps, sizeCheckpoint, smallestFsxFor,
} from './checkpoint';
export type { CheckpointEstimate, CheckpointInput, FsxConfiguration, FsxRequirement } from './checkpoint';
export { DEFAULT_GOODPUT, planTraining } from './plan';
export type { PlanInput, TrainingPlan } from './plan';
export {
  CLUSTER_INTERFACE_ENDPOINT_COUNT, CONFIRMED_QUOTA_CODES, DEFAULT_ACCELERATED_EBS_GIB, DEFAULT_CPU_EBS_GIB,
  EBS_VOLUME_SIZE_QUOTA, FILE_SYSTEM_NETWORK_INTERFACES, INSTANCES_ACROSS_CLUSTERS_QUOTA, INSTANCES_PER_CLUSTER_QUOTA,
  MAX_EBS_VOLUME_GIB, NETWORK_INTERFACES_QUOTA, NodeRole, QuotaServiceCode,
  clusterUsageQuotaName, ebsVolumeGiB, requireHyperPodInstanceType, requiredQuotas, totalEbsGiB,
} from './quotas';
export type { DeploymentShape, QuotaNodeGroup, QuotaRequirement } from './quotas';
export {
  QUOTAS_HELP, QuotaExitCode, QuotaStatus,
  checkQuotas, isMissingCredentials, requestCommand, runQuotasCommand, serviceQuotasClient,
} from './quota-check';
export type { QuotaCheck, QuotaClient } from './quota-check';
export { EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_OK, runCli, runCommand } from './cli';
export type { CliOutput } from './cli';
