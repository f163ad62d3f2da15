import { Aws } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { grantNamedStatements } from '../core/named-grant';

export interface AlertTopicProps {
  /** Encrypts the messages. */
  readonly encryptionKey: kms.IKey;
}

/** AWS services that publish alerts to the topic: Prometheus alert manager, EventBridge, CloudWatch alarms. */
const PUBLISHERS = ['aps.amazonaws.com', 'events.amazonaws.com', 'cloudwatch.amazonaws.com'];
/** Keys whose policy already lets the publishers use them: two topics on one key need the statement once. */
const KEYS_OPEN_TO_PUBLISHERS = new WeakSet<kms.IKey>();

/**
 * The one SNS topic every alert goes to: Standard (AMP's alert manager cannot publish to FIFO topics), KMS-
 * encrypted, TLS-only, and its key usable by the AWS services that publish to it, from this account only.
 */
export class AlertTopic extends sns.Topic {
  public readonly encryptionKey: kms.IKey;

  constructor(scope: Construct, id: string, props: AlertTopicProps) {
    super(scope, id, { masterKey: props.encryptionKey, enforceSSL: true });
    this.encryptionKey = props.encryptionKey;
    if (KEYS_OPEN_TO_PUBLISHERS.has(props.encryptionKey)) return;
    KEYS_OPEN_TO_PUBLISHERS.add(props.encryptionKey);
    props.encryptionKey.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'AlertPublishersEncrypt',
      principals: PUBLISHERS.map((service) => new iam.ServicePrincipal(service)),
      actions: ['kms:GenerateDataKey*', 'kms:Decrypt'],
      resources: ['*'],
      conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
    }));
  }

  /** Publish, and the one KMS action publishing to an encrypted topic needs (grantPublish asks for GenerateDataKey*). */
  public grantPublishTo(grantee: iam.IGrantable): iam.Grant {
    return grantNamedStatements(grantee, [
      { sid: 'PublishAlerts', actions: ['sns:Publish'], resourceArns: [this.topicArn] },
      { sid: 'EncryptAlerts', actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resourceArns: [this.encryptionKey.keyArn] },
    ]);
  }

  /**
   * Let a CloudWatch alarm publish. The topic has a policy of its own (for the alert manager), which replaces
   * SNS's default one: without this statement alarms in the account could not publish.
   */
  public allowCloudWatchAlarm(alarmArn: string): void {
    this.addToResourcePolicy(new iam.PolicyStatement({
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['sns:Publish'],
      resources: [this.topicArn],
      conditions: {
        StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
        ArnLike: { 'aws:SourceArn': alarmArn },
      },
    }));
  }

  /** Let an AMP workspace's alert manager publish (it also reads the topic's attributes first). */
  public allowPrometheusAlerts(workspaceArn: string): void {
    this.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'PrometheusAlertManagerPublish',
      principals: [new iam.ServicePrincipal('aps.amazonaws.com')],
      actions: ['sns:Publish', 'sns:GetTopicAttributes'],
      resources: [this.topicArn],
      conditions: {
        StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
        ArnEquals: { 'aws:SourceArn': workspaceArn },
      },
    }));
  }
}
