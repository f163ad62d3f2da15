import { IConstruct } from 'constructs';
import { ConfigurationError } from '../core/configuration-error';
import { findModel } from '../planner/models';
import { planTraining, TrainingPlan } from '../planner/plan';

/** The settings that distinguish one reference deployment from another. */
export interface TrainingPlatformProfile {
  /** Name used with `-c profile=…`. */
  readonly name: string;
  /** One line for humans. */
  readonly description: string;
  /** Instance type of the Slurm controller. */
  readonly controllerInstanceType: string;
  /** Instance type of the login node; undefined for none. */
  readonly loginInstanceType?: string;
  /** Instance type of the GPU nodes. */
  readonly computeInstanceType: string;
  /** Number of GPU nodes. */
  readonly computeNodeCount: number;
  /** FSx for Lustre capacity, GiB. */
  readonly fsxStorageCapacityGiB: number;
  /** FSx for Lustre throughput per TiB, MB/s. */
  readonly fsxPerUnitThroughputMBps: number;
  /** NAT egress for the compute subnet. */
  readonly natGateway: boolean;
  /** Interface endpoints for AWS services. */
  readonly interfaceEndpoints: boolean;
  /** The training plan the profile was sized from, shown in a stack output. */
  readonly plan?: TrainingPlan;
}

/**
 * The Llama 3.3 Swallow 70B run as the planner sees it: continual pre-training of Llama 3.3 70B on 314B tokens of
 * 8192-token sequences, global batch 1024, on 32 ml.p5.48xlarge. A checkpoint every hour (at most an hour lost to
 * a failure; each is exported to S3), written asynchronously within that hour, and four kept on the file system
 * next to the dataset.
 */
export const SWALLOW_70B_PLAN: TrainingPlan = planTraining({
  model: findModel('llama-3.3-70b'),
  instanceType: 'ml.p5.48xlarge',
  nodes: 32,
  tokens: 314e9,
  sequenceLength: 8192,
  globalBatchSize: 1024,
  checkpointIntervalMinutes: 60,
  checkpointsRetained: 4,
});

/** The Llama 3.3 Swallow 70B platform: node count and file system from SWALLOW_70B_PLAN. */
export const SWALLOW_70B: TrainingPlatformProfile = {
  name: 'swallow-70b',
  description: 'Llama 3.3 Swallow 70B continual pre-training: 32 x ml.p5.48xlarge',
  controllerInstanceType: 'ml.m5.12xlarge',
  loginInstanceType: 'ml.m5.4xlarge',
  computeInstanceType: SWALLOW_70B_PLAN.instanceType,
  computeNodeCount: SWALLOW_70B_PLAN.nodes,
  fsxStorageCapacityGiB: SWALLOW_70B_PLAN.recommendedFsx.storageCapacityGiB,
  fsxPerUnitThroughputMBps: SWALLOW_70B_PLAN.recommendedFsx.perUnitThroughputMBps,
  natGateway: true,
  interfaceEndpoints: true,
  plan: SWALLOW_70B_PLAN,
};

/** The smallest useful platform: a controller, two single-GPU nodes and the smallest file system. */
export const SMOKE: TrainingPlatformProfile = {
  name: 'smoke',
  description: 'Smoke test: 2 x ml.g5.2xlarge, 1200 GiB FSx',
  controllerInstanceType: 'ml.m5.xlarge',
  computeInstanceType: 'ml.g5.2xlarge',
  computeNodeCount: 2,
  fsxStorageCapacityGiB: 1200,
  fsxPerUnitThroughputMBps: 125,
  natGateway: true,
  interfaceEndpoints: false,
};

/** The profiles `bin/app.ts` knows, by name. */
export const PROFILES: readonly TrainingPlatformProfile[] = [SWALLOW_70B, SMOKE];

/** The profile called `name`; a clear error listing the known ones otherwise. */
export function profileNamed(scope: IConstruct, name: string): TrainingPlatformProfile {
  const profile = PROFILES.find((p) => p.name === name);
  if (profile) return profile;
  throw new ConfigurationError(scope, 'profile',
    `must be one of ${PROFILES.map((p) => p.name).join(', ')} (-c profile=NAME), got '${name}'`);
}
