import * as fsx from 'aws-cdk-lib/aws-fsx';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { collectConfigurationErrors } from '../core/configuration-error';
import { requireIntegerInRange, requireMatch } from '../core/validation';

/** S3 events that an association imports into, or exports from, the file system. */
export enum DataRepositoryEvent {
  /** Objects or files created. */
  NEW = 'NEW',
  /** Objects or files changed. */
  CHANGED = 'CHANGED',
  /** Objects or files deleted. */
  DELETED = 'DELETED',
}

/** Every event: keep both sides in step. */
export const ALL_DATA_REPOSITORY_EVENTS = [
  DataRepositoryEvent.NEW, DataRepositoryEvent.CHANGED, DataRepositoryEvent.DELETED,
];

/** A link between a file-system directory and an S3 prefix. */
export interface DataRepositoryOptions {
  /** Directory on the file system, e.g. `/datasets`. Must not repeat or nest in another association's. */
  readonly fileSystemPath: string;
  /** The bucket holding the data. */
  readonly bucket: s3.IBucket;
  /**
   * Prefix in the bucket, e.g. `datasets/` (a key prefix, not an `s3://` URI). Must not repeat or nest in another association's in the same bucket.
   * @default - the file-system path without its leading slash, e.g. `datasets/`
   */
  readonly prefix?: string;
  /**
   * S3 changes imported into the file system as they happen.
   * @default ALL_DATA_REPOSITORY_EVENTS
   */
  readonly autoImportEvents?: DataRepositoryEvent[];
  /**
   * File-system changes exported to S3 as they happen (e.g. checkpoints). Empty for none.
   * @default - none
   */
  readonly autoExportEvents?: DataRepositoryEvent[];
  /**
   * Import the metadata of existing objects when the association is created (files then load lazily on read).
   * @default true
   */
  readonly batchImportMetaDataOnCreate?: boolean;
  /**
   * Stripe count unit for imported files: the largest amount of data, in MiB, one storage server holds of a file.
   * @default 1024
   */
  readonly importedFileChunkSizeMiB?: number;
}

export interface DataRepositoryAssociationProps extends DataRepositoryOptions {
  /** The file system, e.g. `LustreStorage.fileSystemId`. */
  readonly fileSystemId: string;
}

/** An `AWS::FSx::DataRepositoryAssociation`: lazy-loads S3 objects into a directory and exports changes back. */
export class DataRepositoryAssociation extends Construct {
  /** The association's ID, e.g. `dra-0123456789abcdef0`. */
  public readonly associationId: string;
  /** The directory on the file system. */
  public readonly fileSystemPath: string;
  /** `s3://bucket/prefix/`. */
  public readonly dataRepositoryPath: string;
  /** The bucket holding the data. */
  public readonly bucket: s3.IBucket;
  /** The normalised prefix, ending in `/` (empty for the whole bucket). */
  public readonly prefix: string;
  /** The L1 resource. */
  public readonly resource: fsx.CfnDataRepositoryAssociation;

  constructor(scope: Construct, id: string, props: DataRepositoryAssociationProps) {
    super(scope, id);
    const chunk = props.importedFileChunkSizeMiB ?? 1024;
    collectConfigurationErrors(this, () => {
      requireMatch(this, 'fileSystemPath', props.fileSystemPath, /^\/([A-Za-z0-9_.\-]+(\/[A-Za-z0-9_.\-]+)*)?$/,
        "an absolute directory such as '/datasets' (letters, digits, _ . -; no trailing slash)");
      requireIntegerInRange(this, 'importedFileChunkSizeMiB', chunk, 1, 512000);
      if (props.prefix !== undefined) {
        requireMatch(this, 'prefix', props.prefix, /^(?![a-z0-9]+:\/\/)[^\\]*$/,
          "a key prefix inside the bucket such as 'datasets/' (not an s3:// URI: the bucket is given by bucket)");
      }
    });

    this.fileSystemPath = props.fileSystemPath;
    this.bucket = props.bucket;
    this.prefix = normalisePrefix(props.prefix ?? props.fileSystemPath);
    this.dataRepositoryPath = `s3://${props.bucket.bucketName}/${this.prefix}`;
    this.resource = new fsx.CfnDataRepositoryAssociation(this, 'Resource', {
      fileSystemId: props.fileSystemId,
      fileSystemPath: props.fileSystemPath,
      dataRepositoryPath: this.dataRepositoryPath,
      batchImportMetaDataOnCreate: props.batchImportMetaDataOnCreate ?? true,
      importedFileChunkSize: chunk,
      s3: {
        autoImportPolicy: eventPolicy(props.autoImportEvents ?? ALL_DATA_REPOSITORY_EVENTS),
        autoExportPolicy: eventPolicy(props.autoExportEvents ?? []),
      },
    });
    this.associationId = this.resource.attrAssociationId;
  }
}

function eventPolicy(events: DataRepositoryEvent[]): fsx.CfnDataRepositoryAssociation.AutoImportPolicyProperty | undefined {
  return events.length > 0 ? { events: [...new Set(events)] } : undefined;
}

/** `/datasets` → `datasets/`; `a/b` → `a/b/`; `/` or empty → `` (the whole bucket). */
export function normalisePrefix(prefix: string): string {
  const trimmed = prefix.replace(/^\/+/, '').replace(/\/+$/, '');
  return trimmed === '' ? '' : `${trimmed}/`;
}
