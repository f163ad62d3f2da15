// The public API of cdk-hyperpod-training, in the order a platform is built.
export * from './core/configuration-error';
export * from './core/nag-acknowledgement';
export * from './core/synthesize-app';
export * from './catalog';

export * from './network/closed-security-group';
export * from './network/efa-security-group';
export * from './network/subnet-sizing';
export * from './network/training-network';

export * from './storage/access-logs-bucket';
export * from './storage/data-repository-association';
export * from './storage/lustre-storage';
export * from './storage/training-bucket';

export * from './cluster/cluster-execution-role';
export * from './cluster/cluster-observability';
export * from './cluster/hyperpod-cluster';
export * from './cluster/instance-group';
export * from './cluster/lifecycle-scripts';
export * from './cluster/nccl-environment';

export * from './training/training-image';

export * from './observability/alert-rules';
export * from './observability/alert-topic';
export * from './observability/alertmanager-definition';
export * from './observability/grafana-dashboards';
export * from './observability/training-observability';

export * from './inference/model-endpoint';

export * from './planner';

export * from './platform/profiles';
export * from './platform/training-platform-stack';
