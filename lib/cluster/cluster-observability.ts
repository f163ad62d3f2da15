import { IHyperPodCluster } from './hyperpod-cluster';

/**
 * Something that watches a cluster (e.g. `TrainingObservability`). The cluster asks it for the settings its
 * nodes need (remote-write URL, exporter images, the job-event topic) when it writes the lifecycle settings,
 * then hands itself over for the wiring that needs the cluster (permissions, event rules).
 */
export interface IClusterObservability {
  /** Keys merged into `cluster-settings.json` (`observability`, `jobNotifications`). */
  nodeSettings(): Record<string, unknown>;
  /** Grant the cluster's roles what the nodes need and route the cluster's events. */
  monitor(cluster: IHyperPodCluster): void;
}
