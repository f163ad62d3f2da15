import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

export interface TrainingBucketProps {
  /** Encrypts the objects (SSE-KMS with an S3 bucket key, so FSx imports do not call KMS per object). */
  readonly encryptionKey: kms.IKey;
  /** Where S3 server access logs go. */
  readonly accessLogs: s3.IBucket;
  /**
   * Expire noncurrent object versions after this long (e.g. old checkpoints).
   * @default - noncurrent versions are kept
   */
  readonly noncurrentVersionExpiration?: Duration;
  /**
   * What happens to the bucket when the stack no longer has it.
   * @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE (`RetainExceptOnCreate`: a failed first create cleans up)
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** A bucket for training data or checkpoints: KMS-encrypted, versioned, TLS-only, private, access-logged. */
export class TrainingBucket extends s3.Bucket {
  constructor(scope: Construct, id: string, props: TrainingBucketProps) {
    super(scope, id, {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: props.encryptionKey,
      bucketKeyEnabled: true,
      versioned: true,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: props.accessLogs,
      serverAccessLogsPrefix: `${id}/`,
      lifecycleRules: [{
        id: 'AbortIncompleteUploads',
        abortIncompleteMultipartUploadAfter: Duration.days(7),
        noncurrentVersionExpiration: props.noncurrentVersionExpiration,
      }],
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });
  }
}
