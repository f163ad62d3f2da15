/**
 * The training planner: pure TypeScript, no AWS calls. It imports only lib/catalog (the GPU, instance and FSx facts
 * it shares with the constructs, exported by the package from lib/catalog) and itself; the CLI is lib/planner-cli.
 */
export { PlannerInputError } from './errors';
export { MODEL_CATALOG, countParameters, defineModel, findModel, modelIds } from './models';
export type { ModelArchitecture } from './models';
export { findGpu, gpuIds } from './gpus';
export { findInstanceType, instanceTypeNames } from './instances';
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
export type { LayoutCandidate, LayoutPin, SearchInput } from './search';
export {
  DEFAULT_STAGING_GBPS_PER_GPU, FULL_CHECKPOINT_BYTES_PER_PARAMETER, WEIGHTS_ONLY_BYTES_PER_PARAMETER,
  fsxThroughputMBps, sizeCheckpoint, smallestFsxFor,
} from './checkpoint';
export type { CheckpointEstimate, CheckpointInput, FsxConfiguration, FsxRequirement } from './checkpoint';
export {
  DEFAULT_RESTART_MINUTES, DEFAULT_WRITE_INTERFERENCE, LLAMA3_FAILURES_PER_NODE_HOUR, estimateGoodput,
} from './goodput';
export type { GoodputEstimate, GoodputInput } from './goodput';
export { DEFAULT_FSX_PRICE_PER_GB_MONTH, DEFAULT_SIZING_PRICE_PER_NODE_HOUR, sizeFsxByCost } from './fsx-sizing';
export type { FsxOption, FsxSizing, FsxSizingInput } from './fsx-sizing';
export { DEFAULT_GOODPUT, planTraining } from './plan';
export type { PlanInput, TrainingPlan } from './plan';
export {
  CLUSTER_INTERFACE_ENDPOINT_COUNT, CONFIRMED_QUOTA_CODES, EBS_VOLUME_SIZE_QUOTA, INSTANCES_ACROSS_CLUSTERS_QUOTA,
  INSTANCES_PER_CLUSTER_QUOTA, NETWORK_INTERFACES_QUOTA, NodeRole, QuotaServiceCode,
  clusterUsageQuotaName, ebsVolumeGiB, requireHyperPodInstanceType, requiredQuotas, totalEbsGiB,
} from './quotas';
export type { DeploymentShape, QuotaNodeGroup, QuotaRequirement } from './quotas';
