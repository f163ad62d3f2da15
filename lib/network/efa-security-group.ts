import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import { ClosedSecurityGroup } from './closed-security-group';

export interface EfaSecurityGroupProps {
  /** The VPC the group belongs to. */
  readonly vpc: ec2.IVpc;
  /**
   * Allow HTTPS (TCP 443) to anywhere: AWS APIs, ECR and package registries through the NAT gateway or the
   * VPC endpoints. Turn off for a cluster that must reach nothing but itself and its endpoints, then add
   * egress to the endpoints' security groups yourself.
   * @default true
   */
  readonly allowHttpsEgress?: boolean;
  /**
   * What the group is for, shown in the console.
   * @default - generated
   */
  readonly description?: string;
}

/**
 * The security group EFA needs: all traffic from itself and to itself. No other egress but what is added
 * explicitly (AWS warns that 0.0.0.0/0 all-traffic egress on EFA groups can fail the EFA health checks):
 * HTTPS by default, and the Lustre ports when a file system is attached.
 */
export class EfaSecurityGroup extends ClosedSecurityGroup {
  constructor(scope: Construct, id: string, props: EfaSecurityGroupProps) {
    super(scope, id, {
      vpc: props.vpc,
      description: props.description ?? 'EFA: all traffic within the group; explicit egress otherwise',
    });
    this.addIngressRule(this, ec2.Port.allTraffic(), 'EFA: all traffic from members of this group');
    this.addEgressRule(this, ec2.Port.allTraffic(), 'EFA: all traffic to members of this group');
    if (props.allowHttpsEgress ?? true) {
      this.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to AWS APIs, ECR and registries');
    }
  }
}
