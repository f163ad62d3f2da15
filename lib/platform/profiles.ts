import { IConstruct } from 'constructs';
import { ConfigurationError } from '../core/configuration-error';
import { findModel } from '../planner/models';
import { planTraining, TrainingPlan } from '../planner/plan';
import { DataMixture } from '../training/data-mixture';

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
  /** The plan's data sources, as weighted `--data-path` of its launch script. */
  readonly dataMixture?: DataMixture;
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

const ILLUSTRATIVE = 'illustrative: the public record gives no split';

/**
 * A mixture shaped like Llama 3.3 Swallow 70B v0.4's: about 315B tokens "sampled from a large Japanese web corpus
 * (Swallow Corpus Version 2), Japanese and English Wikipedia articles, and mathematical and coding contents"
 * (model card, huggingface.co/tokyotech-llm/Llama-3.3-Swallow-70B-v0.4), of which about 210B are Swallow Corpus v2
 * (the seed of this project). The model card gives no other split: the other sources' sizes and shares are
 * illustrative. Prefixes are under `<fsx>/datasets`, written by tokenize.sbatch.
 */
export const SWALLOW_70B_DATA_MIXTURE: DataMixture = {
  sources: [
    { name: 'swallow-corpus-v2', prefix: 'swallow-corpus-v2/text_document', tokens: 210e9, epochs: 1,
      note: 'about 210B of the 314B' },
    { name: 'ja-wikipedia', prefix: 'ja-wikipedia/text_document', tokens: 1.3e9, epochs: 2, note: ILLUSTRATIVE },
    { name: 'en-wikipedia', prefix: 'en-wikipedia/text_document', tokens: 4.5e9, epochs: 1, note: ILLUSTRATIVE },
    { name: 'en-web', prefix: 'en-web/text_document', tokens: 200e9, weight: 0.5, note: ILLUSTRATIVE },
    { name: 'code', prefix: 'code/text_document', tokens: 60e9, weight: 0.3, note: ILLUSTRATIVE },
    { name: 'math', prefix: 'math/text_document', tokens: 40e9, weight: 0.2, note: ILLUSTRATIVE },
  ],
};

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
  dataMixture: SWALLOW_70B_DATA_MIXTURE,
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
