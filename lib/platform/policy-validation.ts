import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';

/** A Control Tower proactive control (cfn-guard rule) the reference platform does not meet, and why. */
export interface DisabledGuardRule {
  /** The control, e.g. `CT.LAMBDA.PR.3` (its rule file is `ct-lambda-pr-3.guard`). */
  readonly control: string;
  /** The rule inside it, as findings name it, e.g. `lambda_inside_vpc_check`. */
  readonly rule: string;
  /** Why the platform does not follow it. */
  readonly reason: string;
}

/** Every cfn-guard rule disabled for the reference stack, in one place. Everything else must pass. */
export const DISABLED_GUARD_RULES: readonly DisabledGuardRule[] = [
  {
    rule: 's3_bucket_object_lock_enabled_check',
    control: 'CT.S3.PR.9',
    reason: 'Checkpoints are rewritten and pruned (auto-export of deletes, expiry of noncurrent versions); Object Lock '
      + 'would block both. Versioning and RETAIN protect the data against accidental loss.',
  },
  {
    rule: 's3_event_notifications_enabled_check',
    control: 'CT.S3.PR.4',
    reason: 'Nothing in the platform consumes bucket events; FSx data repository associations manage their own.',
  },
  {
    rule: 'lambda_inside_vpc_check',
    control: 'CT.LAMBDA.PR.3',
    reason: 'The only functions are custom-resource handlers that call AWS APIs and the public Managed Grafana '
      + 'endpoint; none reads training data. In the VPC they would take addresses from the EFA-sized compute '
      + 'subnet and need more endpoints.',
  },
  {
    rule: 'cloudwatch_log_group_encrypted_check',
    control: 'CT.CLOUDWATCH.PR.3',
    reason: 'CloudWatch Logs encrypts every log group at rest. The Prometheus workspace log uses the observability '
      + 'key; VPC flow logs and custom-resource handler logs (two of them created inside aws-cdk-lib) hold no '
      + 'training data.',
  },
  {
    rule: 's3_bucket_default_encryption_kms_check',
    control: 'CT.S3.PR.10',
    reason: 'S3 server access logs can only be delivered to SSE-S3 buckets. The lifecycle-scripts bucket holds this '
      + 'package\'s scripts and settings (no secrets); SSE-S3 spares every node a KMS permission.',
  },
  {
    rule: 's3_bucket_logging_enabled_check',
    control: 'CT.S3.PR.2',
    reason: 'Only the access-log bucket itself is not logged: logging it would log its own logs forever.',
  },
];

/** cfn-guard (Control Tower proactive controls, offline) with the disabled rules above. */
export function referenceGuardValidator(): CfnGuardValidator {
  return new CfnGuardValidator({ disabledRules: DISABLED_GUARD_RULES.map((r) => r.control.toLowerCase().replace(/\./g, '-')) });
}
