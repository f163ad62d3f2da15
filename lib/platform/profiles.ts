import { IConstruct } from 'constructs';
import { ConfigurationError } from '../core/configuration-error';

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
}

/**
 * The Llama 3.3 Swallow 70B run: 32 ml.p5.48xlarge (256 H100) in one AZ; 48,000 GiB of FSx at 250 MB/s/TiB
 * (about 11.7 GB/s, a 0.99 TB distributed-optimizer checkpoint in under 90 s).
 */
export const SWALLOW_70B: TrainingPlatformProfile = {
  name: 'swallow-70b',
  description: 'Llama 3.3 Swallow 70B continual pre-training: 32 x ml.p5.48xlarge',
  controllerInstanceType: 'ml.m5.12xlarge',
  loginInstanceType: 'ml.m5.4xlarge',
  computeInstanceType: 'ml.p5.48xlarge',
  computeNodeCount: 32,
  fsxStorageCapacityGiB: 48000,
  fsxPerUnitThroughputMBps: 250,
  natGateway: true,
  interfaceEndpoints: true,
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
