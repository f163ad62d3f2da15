import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';

/**
 * Only AWS services (FSx, Prometheus, CloudWatch Logs… acting for the caller) may create grants on the key:
 * a principal cannot hand itself a lasting grant that outlives its IAM permissions (Control Tower CT.KMS.PR.3).
 */
export function restrictGrantsToAwsServices(key: kms.IKey): void {
  key.addToResourcePolicy(new iam.PolicyStatement({
    sid: 'GrantsOnlyForAwsServices',
    effect: iam.Effect.DENY,
    principals: [new iam.AnyPrincipal()],
    actions: ['kms:CreateGrant'],
    resources: ['*'],
    conditions: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
  }));
}
