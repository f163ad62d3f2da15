import * as sagemaker from '@aws-cdk/aws-sagemaker-alpha';

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
  let best = ENDPOINT_INSTANCE_TYPES[0];
  let bestDistance = Infinity;
  for (const candidate of ENDPOINT_INSTANCE_TYPES) {
    const d = editDistance(value, candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}
