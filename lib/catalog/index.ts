/**
 * Facts the constructs and the planner share: the GPU and HyperPod instance catalogue, the EBS defaults of instance
 * groups, FSx for Lustre capacity steps and throughput tiers, and the cluster's interface endpoints. Pure data at
 * the bottom of the library: it imports nothing outside lib/catalog (test/planner/dependencies.test.ts).
 */
export * from './gpus';
export * from './hyperpod-instance-types';
export * from './fsx-lustre';
export * from './interface-endpoints';
