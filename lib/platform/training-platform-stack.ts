import { CfnOutput, Stack, StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { ConfigurationError } from '../core/configuration-error';
import { hasAccelerators } from '../cluster/instance-group';
import { HyperPodCluster } from '../cluster/hyperpod-cluster';
import { ModelEndpoint } from '../inference/model-endpoint';
import { PlannedNodes } from '../network/subnet-sizing';
import { renderMegatronSbatch } from '../training/megatron-launch';
import { TrainingImage } from '../training/training-image';
import { TrainingNetwork } from '../network/training-network';
import { DataRepositoryEvent } from '../storage/data-repository-association';
import { LustreStorage } from '../storage/lustre-storage';
import { SlackOptions, TrainingObservability } from '../observability/training-observability';
import { TrainingPlatformProfile } from './profiles';

export interface TrainingPlatformStackProps extends StackProps {
  /** What to build: see `PROFILES`. */
  readonly profile: TrainingPlatformProfile;
  /**
   * AZ ID of the compute subnet, e.g. `use1-az6`: the AZ of your capacity or training plan. Required for a
   * profile with GPU or Trainium nodes (p5 capacity exists only in some AZs, and a training plan or capacity
   * reservation is bound to one).
   * @default - the first AZ of the region, for CPU-only profiles
   */
  readonly availabilityZoneId?: string;
  /**
   * Who gets the alerts by email.
   * @default - nobody: subscribe to the AlertTopicArn output
   */
  readonly alertEmails?: string[];
  /**
   * Alerts to Slack through AWS Chatbot.
   * @default - none
   */
  readonly slack?: SlackOptions;
  /**
   * Serve a trained model from the checkpoints bucket: the key of its Hugging Face-format weights (a prefix
   * ending in `/`, or a `.tar.gz`). Off by default: an endpoint bills while idle.
   * @default - no endpoint
   */
  readonly servingModelKey?: string;
}

/**
 * The reference platform: network, Lustre storage with S3 data repositories for datasets and checkpoints,
 * the HyperPod Slurm cluster that mounts it, and the monitoring that pages when a GPU, a node or a job fails.
 */
export class TrainingPlatformStack extends Stack {
  public readonly network: TrainingNetwork;
  public readonly storage: LustreStorage;
  public readonly cluster: HyperPodCluster;
  public readonly observability: TrainingObservability;
  /** The training container, built in the account by CodeBuild into a private ECR repository. */
  public readonly trainingImage: TrainingImage;
  /** The serving endpoint, when `servingModelKey` is set. */
  public readonly modelEndpoint?: ModelEndpoint;

  constructor(scope: Construct, id: string, props: TrainingPlatformStackProps) {
    super(scope, id, { description: `cdk-hyperpod-training: ${props.profile.description}`, ...props });
    const profile = props.profile;
    requireAcceleratorAz(this, profile, props.availabilityZoneId);

    this.network = new TrainingNetwork(this, 'Network', {
      plannedNodes: plannedNodes(profile),
      availabilityZoneId: props.availabilityZoneId,
      natGateway: profile.natGateway,
      interfaceEndpoints: profile.interfaceEndpoints,
    });
    this.storage = this.createStorage(profile);
    this.observability = new TrainingObservability(this, 'Observability', {
      alertEmails: props.alertEmails,
      slack: props.slack,
    });
    this.observability.monitorStorage(this.storage);
    this.cluster = new HyperPodCluster(this, 'Cluster', {
      observability: this.observability,
      network: this.network,
      storage: this.storage,
      controllerGroup: { instanceType: profile.controllerInstanceType },
      loginGroup: profile.loginInstanceType ? { instanceType: profile.loginInstanceType } : undefined,
      computeGroups: [{ name: 'gpu', instanceType: profile.computeInstanceType, count: profile.computeNodeCount }],
      accessLogsBucket: this.storage.accessLogsBucket,
    });
    // The plan's Megatron-LM launch script, copied to /fsx/jobs by the 90-job-templates lifecycle step.
    if (profile.plan) {
      this.cluster.lifecycleScripts.addFile(`jobs/pretrain-${profile.name}.sbatch`,
        renderMegatronSbatch(profile.plan, {
          runName: profile.name, partition: this.cluster.partitions[0], dataMixture: profile.dataMixture,
        }));
    }

    this.trainingImage = new TrainingImage(this, 'TrainingImage');
    this.trainingImage.grantPull(this.cluster.executionRole);

    if (props.servingModelKey) {
      this.modelEndpoint = new ModelEndpoint(this, 'Serving', {
        checkpointsBucket: this.storage.checkpointsBucket,
        modelDataKey: props.servingModelKey,
      });
      new CfnOutput(this, 'EndpointName', { value: this.modelEndpoint.endpointName });
    }

    if (profile.plan) new CfnOutput(this, 'TrainingPlan', { value: profile.plan.summary, description: 'The planned layout and run' });
    new CfnOutput(this, 'ClusterName', { value: this.cluster.clusterName });
    new CfnOutput(this, 'FileSystemId', { value: this.storage.fileSystemId });
    new CfnOutput(this, 'DatasetsBucketName', { value: this.storage.datasetsBucket.bucketName });
    new CfnOutput(this, 'CheckpointsBucketName', { value: this.storage.checkpointsBucket.bucketName });
    new CfnOutput(this, 'LifecycleScriptsUri', { value: this.cluster.lifecycleScripts.sourceS3Uri });
    new CfnOutput(this, 'TrainingImageUri', { value: this.trainingImage.imageUri, description: 'Pushed when the build succeeds' });
    new CfnOutput(this, 'TrainingImageBuildId', {
      value: this.trainingImage.buildId,
      description: 'aws codebuild batch-get-builds --ids <this> shows the build; then enroot import docker://<TrainingImageEnroot>',
    });
    new CfnOutput(this, 'TrainingImageEnroot', { value: this.trainingImage.enrootImage, description: 'The image as enroot names it' });
    new CfnOutput(this, 'AlertTopicArn', { value: this.observability.alertTopic.topicArn });
    new CfnOutput(this, 'PrometheusRemoteWriteUrl', { value: this.observability.remoteWriteUrl });
    if (this.observability.grafanaWorkspace) {
      new CfnOutput(this, 'GrafanaUrl', { value: `https://${this.observability.grafanaWorkspace.attrEndpoint}` });
    }
  }

  private createStorage(profile: TrainingPlatformProfile): LustreStorage {
    const storage = new LustreStorage(this, 'Storage', {
      network: this.network,
      storageCapacityGiB: profile.fsxStorageCapacityGiB,
      perUnitThroughputMBps: profile.fsxPerUnitThroughputMBps,
    });
    // Tokenized data written under /fsx/datasets (the tokenize job) reaches S3 as it is written; raw data uploaded to
    // the bucket appears on FSx. Deletions on FSx are not exported: the bucket keeps what was removed to make room.
    storage.addDataRepository({
      fileSystemPath: '/datasets',
      bucket: storage.datasetsBucket,
      autoExportEvents: [DataRepositoryEvent.NEW, DataRepositoryEvent.CHANGED],
    });
    // Checkpoints flow to S3 as they are written; removing one from FSx (to make room) keeps it in S3.
    storage.addDataRepository({
      fileSystemPath: '/checkpoints',
      bucket: storage.checkpointsBucket,
      autoExportEvents: [DataRepositoryEvent.NEW, DataRepositoryEvent.CHANGED],
    });
    return storage;
  }
}

/** Accelerated capacity is in particular AZs: the AZ is chosen on purpose, never the region's first one. */
function requireAcceleratorAz(scope: Construct, profile: TrainingPlatformProfile, availabilityZoneId?: string): void {
  if (availabilityZoneId !== undefined || !hasAccelerators(profile.computeInstanceType)) return;
  throw new ConfigurationError(scope, 'availabilityZoneId',
    `must be given for profile '${profile.name}' (${profile.computeNodeCount} x ${profile.computeInstanceType}): `
    + 'use the AZ ID of your capacity, e.g. -c availabilityZoneId=use1-az6. Find it with '
    + '`aws sagemaker describe-training-plan --training-plan-name NAME` (AvailabilityZone of its reserved capacity) or '
    + '`aws ec2 describe-capacity-reservations`, and map AZ names to IDs with '
    + "`aws ec2 describe-availability-zones --query 'AvailabilityZones[].[ZoneName,ZoneId]'`, got none");
}

/** Every node of the profile, for sizing the compute subnet. */
function plannedNodes(profile: TrainingPlatformProfile): PlannedNodes[] {
  return [
    { instanceType: profile.controllerInstanceType, count: 1 },
    ...(profile.loginInstanceType ? [{ instanceType: profile.loginInstanceType, count: 1 }] : []),
    { instanceType: profile.computeInstanceType, count: profile.computeNodeCount },
  ];
}
