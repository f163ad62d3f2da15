/**
 * The AWS services a cluster without internet reaches through interface VPC endpoints (HyperPod prerequisites),
 * by the construct id TrainingNetwork gives each endpoint (`<id>Endpoint`). TrainingNetwork maps every id to its
 * service (its `CLUSTER_INTERFACE_ENDPOINTS` is keyed by this type, so the compiler keeps the two equal); the
 * quotas count one network interface per endpoint.
 */
export const CLUSTER_INTERFACE_ENDPOINT_IDS = [
  'Ec2', 'EcrApi', 'EcrDocker', 'Sts', 'Logs', 'Monitoring', 'Ssm', 'SsmMessages', 'Ec2Messages',
  'PrometheusWorkspaces',
  // Job-end notifications from the controller, and the experiment-tracking key for jobs.
  'Sns', 'SecretsManager',
] as const;

/** One interface endpoint of the cluster. */
export type ClusterInterfaceEndpointId = typeof CLUSTER_INTERFACE_ENDPOINT_IDS[number];
