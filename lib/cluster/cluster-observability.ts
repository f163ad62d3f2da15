import { IHyperPodCluster } from './hyperpod-cluster';

/**
 * The images every node runs for metrics (`observability.images` in `cluster-settings.json`), as full image URIs.
 */
export interface NodeExporterImageSettings {
  /** The OpenTelemetry collector that scrapes the exporters and remote-writes to Prometheus. */
  readonly collector: string;
  /** Prometheus node exporter. */
  readonly nodeExporter: string;
  /** NVIDIA DCGM exporter, on GPU nodes. */
  readonly dcgmExporter: string;
}

/** What the `70-observability` lifecycle step reads (`observability` in `cluster-settings.json`, docs/lifecycle.md). */
export interface NodeMetricsSettings {
  /** The Prometheus remote-write URL (`https://…/api/v1/remote_write`). */
  readonly remoteWriteUrl: string;
  /** Region of the Prometheus workspace (the collector signs its writes with SigV4 for it). */
  readonly region: string;
  /** How often the collector scrapes the exporters, seconds (1-3600). */
  readonly scrapeIntervalSeconds: number;
  /** The images the nodes run. */
  readonly images: NodeExporterImageSettings;
}

/** What the `80-job-notifications` lifecycle step reads (`jobNotifications` in `cluster-settings.json`). */
export interface JobNotificationSettings {
  /** The standard SNS topic each ended job is published to. */
  readonly topicArn: string;
  /** The topic's Region. */
  readonly region: string;
  /** Slurm end states announced (values of SlurmJobState, e.g. `FAILED`). */
  readonly states: string[];
  /** Jobs that ran less than this are not announced, whole minutes. */
  readonly minimumElapsedMinutes: number;
}

/** The keys an observability adds to the nodes' `cluster-settings.json`; an absent key is not configured. */
export interface ClusterObservabilitySettings {
  /**
   * Metrics from every node.
   * @default - no metrics
   */
  readonly observability?: NodeMetricsSettings;
  /**
   * Job-end notifications from the controller.
   * @default - none
   */
  readonly jobNotifications?: JobNotificationSettings;
}

/**
 * Something that watches a cluster (e.g. `TrainingObservability`). The cluster asks it for the settings its
 * nodes need (remote-write URL, exporter images, the job-event topic) when it writes the lifecycle settings,
 * then hands itself over for the wiring that needs the cluster (permissions, event rules).
 */
export interface IClusterObservability {
  /** Keys merged into `cluster-settings.json`. */
  nodeSettings(): ClusterObservabilitySettings;
  /** Grant the cluster's roles what the nodes need and route the cluster's events. */
  monitor(cluster: IHyperPodCluster): void;
}
