import * as sagemaker from '@aws-cdk/aws-sagemaker-alpha';
import { closest } from '../core/configuration-error';

/**
 * Accelerated instance types SageMaker real-time endpoints offer that @aws-cdk/aws-sagemaker-alpha 2.159.1 has no
 * constant for. Source: SageMaker API Reference, AIRecommendationInstanceDetail.InstanceType valid values
 * (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_AIRecommendationInstanceDetail.html), a subset of
 * ProductionVariantInstanceType.
 */
const NEWER_ACCELERATED_TYPES = [
  'ml.g6e.xlarge', 'ml.g6e.2xlarge', 'ml.g6e.4xlarge', 'ml.g6e.8xlarge', 'ml.g6e.12xlarge', 'ml.g6e.16xlarge',
  'ml.g6e.24xlarge', 'ml.g6e.48xlarge',
  'ml.g7e.2xlarge', 'ml.g7e.4xlarge', 'ml.g7e.8xlarge', 'ml.g7e.12xlarge', 'ml.g7e.24xlarge', 'ml.g7e.48xlarge',
  'ml.p4de.24xlarge', 'ml.p5.4xlarge', 'ml.p5.48xlarge', 'ml.p5e.48xlarge', 'ml.p5en.48xlarge', 'ml.p6-b200.48xlarge',
];

/** The alpha's constants: "Supported instance types for SageMaker instance-based production variants". */
function alphaInstanceTypes(): string[] {
  const statics = Object.getOwnPropertyNames(sagemaker.InstanceType)
    .map((name) => (sagemaker.InstanceType as unknown as Record<string, unknown>)[name]);
  return statics.filter((v): v is sagemaker.InstanceType => v instanceof sagemaker.InstanceType).map(String);
}

/** Instance types a ModelEndpoint accepts: the alpha's list and the newer accelerated types above, sorted. */
export const ENDPOINT_INSTANCE_TYPES: readonly string[] = [...new Set([...alphaInstanceTypes(), ...NEWER_ACCELERATED_TYPES])].sort();

/** The catalogue entry closest to `value` (fewest edits), for a "did you mean" in the error. */
export function closestEndpointInstanceType(value: string): string {
  return closest(value, ENDPOINT_INSTANCE_TYPES)!.id;
}
