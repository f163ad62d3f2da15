import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';

export interface ClosedSecurityGroupProps {
  readonly vpc: ec2.IVpc;
  readonly description?: string;
}

/**
 * A security group with no egress but what is added to it.
 *
 * CloudFormation gives a group with no inline `SecurityGroupEgress` its default allow-all egress rule, and
 * aws-cdk-lib (`allowAllOutbound: false`) drops its own inline deny-all placeholder as soon as any egress rule
 * is added, even one that becomes a separate `AWS::EC2::SecurityGroupEgress` (a rule to another group). A group
 * whose egress only names groups would then allow all outbound traffic. This group keeps an inline rule that
 * matches nothing, distinct from aws-cdk-lib's placeholder so that it is never removed.
 */
export class ClosedSecurityGroup extends ec2.SecurityGroup {
  constructor(scope: Construct, id: string, props: ClosedSecurityGroupProps) {
    super(scope, id, { vpc: props.vpc, description: props.description, allowAllOutbound: false });
    this.addEgressRule(ec2.Peer.ipv4('255.255.255.255/32'), ec2.Port.icmpTypeAndCode(86, 251),
      'Matches no traffic: keeps CloudFormation from adding its default allow-all egress');
  }
}
