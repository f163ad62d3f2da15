import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { acknowledgeManagedPolicy, acknowledgeWildcardResources } from '../core/nag-acknowledgement';

export interface ClusterExecutionRoleProps {
  /** What the nodes of this role do, for the role description. */
  readonly description: string;
}

/** Actions HyperPod needs to attach the nodes' interfaces to your VPC (without them: "Unable to retrieve subnets"). */
const VPC_ATTACHMENT_ACTIONS = [
  'ec2:CreateNetworkInterface',
  'ec2:CreateNetworkInterfacePermission',
  'ec2:DeleteNetworkInterface',
  'ec2:DeleteNetworkInterfacePermission',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeVpcs',
  'ec2:DescribeDhcpOptions',
  'ec2:DescribeSubnets',
  'ec2:DescribeSecurityGroups',
  'ec2:DetachNetworkInterface',
];

/**
 * The IAM role HyperPod nodes run as: trusted by SageMaker, with the managed cluster-instance policy, the VPC
 * attachment permissions and FSx describe. Everything else (lifecycle scripts, metrics, secrets, topics) is
 * granted to it by the construct that owns the resource.
 */
export class ClusterExecutionRole extends iam.Role {
  constructor(scope: Construct, id: string, props: ClusterExecutionRoleProps) {
    super(scope, id, {
      assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com'),
      description: props.description,
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AmazonSageMakerClusterInstanceRolePolicy')],
    });
    acknowledgeManagedPolicy(this, iam.ManagedPolicy.fromAwsManagedPolicyName('AmazonSageMakerClusterInstanceRolePolicy'),
      'HyperPod requires this AWS managed policy on cluster instance roles (logs, metrics, SSM agent).');

    this.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'AttachNodesToVpc',
      actions: VPC_ATTACHMENT_ACTIONS,
      resources: ['*'],
    }));
    const networkInterfaces = `arn:${this.stack.partition}:ec2:${this.stack.region}:${this.stack.account}:network-interface/*`;
    this.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'TagNodeInterfaces',
      actions: ['ec2:CreateTags'],
      resources: [networkInterfaces],
    }));
    this.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'DescribeFileSystems',
      actions: ['fsx:DescribeFileSystems'],
      resources: ['*'],
    }));
    const policy = this.node.tryFindChild('DefaultPolicy')!;
    acknowledgeWildcardResources(policy, ['*'],
      'HyperPod creates and describes the nodes\' network interfaces in your VPC (ec2 Create/Describe/'
        + 'Delete NetworkInterface* have no resource-level scoping at creation time), and fsx:DescribeFileSystems '
        + 'is a list action that only accepts "*".');
    acknowledgeWildcardResources(policy, [networkInterfaces],
      'Interface IDs are created by HyperPod at node launch; tagging is limited to network interfaces.');
  }
}
