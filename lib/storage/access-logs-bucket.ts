import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

export interface AccessLogsBucketProps {
  /**
   * What happens to the bucket when the stack no longer has it.
   * @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE (`RetainExceptOnCreate`: a failed first create cleans up)
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The target of S3 server access logs. SSE-S3, because S3 log delivery cannot write to SSE-KMS buckets;
 * not itself access-logged (that would log forever).
 */
export class AccessLogsBucket extends s3.Bucket {
  constructor(scope: Construct, id: string, props: AccessLogsBucketProps = {}) {
    super(scope, id, {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      versioned: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      lifecycleRules: [{
        id: 'OldLogVersions',
        noncurrentVersionExpiration: Duration.days(30),
        abortIncompleteMultipartUploadAfter: Duration.days(7),
      }],
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });
  }
}
