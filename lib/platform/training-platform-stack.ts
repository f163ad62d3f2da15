import { CfnOutput, Stack, StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { TrainingNetwork } from '../network/training-network';
import { ALL_DATA_REPOSITORY_EVENTS } from '../storage/data-repository-association';
import { LustreStorage } from '../storage/lustre-storage';
import { SUPPORT_NODES, TrainingPlatformProfile } from './profiles';

export interface TrainingPlatformStackProps extends StackProps {
  /** What to build: see `PROFILES`. */
  readonly profile: TrainingPlatformProfile;
  /**
   * AZ ID of the compute subnet, e.g. `use1-az6`: the AZ of your capacity or training plan.
   * @default - the first AZ of the region
   */
  readonly availabilityZoneId?: string;
}

/** The reference platform: network, Lustre storage with S3 data repositories for datasets and checkpoints. */
export class TrainingPlatformStack extends Stack {
  public readonly network: TrainingNetwork;
  public readonly storage: LustreStorage;

  constructor(scope: Construct, id: string, props: TrainingPlatformStackProps) {
    super(scope, id, { description: `cdk-hyperpod-training: ${props.profile.description}`, ...props });
    const profile = props.profile;

    this.network = new TrainingNetwork(this, 'Network', {
      plannedNodes: [...SUPPORT_NODES, { instanceType: profile.computeInstanceType, count: profile.computeNodeCount }],
      availabilityZoneId: props.availabilityZoneId,
      natGateway: profile.natGateway,
      interfaceEndpoints: profile.interfaceEndpoints,
    });
    this.storage = new LustreStorage(this, 'Storage', {
      network: this.network,
      storageCapacityGiB: profile.fsxStorageCapacityGiB,
      perUnitThroughputMBps: profile.fsxPerUnitThroughputMBps,
    });
    this.storage.addDataRepository({ fileSystemPath: '/datasets', bucket: this.storage.datasetsBucket });
    this.storage.addDataRepository({
      fileSystemPath: '/checkpoints',
      bucket: this.storage.checkpointsBucket,
      autoExportEvents: ALL_DATA_REPOSITORY_EVENTS,
    });

    new CfnOutput(this, 'FileSystemId', { value: this.storage.fileSystemId });
    new CfnOutput(this, 'DatasetsBucketName', { value: this.storage.datasetsBucket.bucketName });
    new CfnOutput(this, 'CheckpointsBucketName', { value: this.storage.checkpointsBucket.bucketName });
  }
}
