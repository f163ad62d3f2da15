import { Annotations, Fn, RemovalPolicy, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct, IConstruct } from 'constructs';
import { collectConfigurationErrors, ConfigurationError, reportError, requireProp } from '../core/configuration-error';
import { FILE_SYSTEM_NETWORK_INTERFACES } from '../catalog/hyperpod-instance-types';
import { ClusterInterfaceEndpointId } from '../catalog/interface-endpoints';
import { requireMatch } from '../core/validation';
import {
  addressesForNodes, cidrMaskOf, PlannedNodes, smallestCidrMaskFor, usableAddresses,
} from './subnet-sizing';
import { ClosedSecurityGroup } from './closed-security-group';
import { EfaSecurityGroup } from './efa-security-group';

/**
 * The network a training cluster and its file system live in: a new TrainingNetwork or
 * `fromTrainingNetworkAttributes`. Not an IResource: it is a set of resources (the VPC, the subnet and the
 * security group are each one, and exposed as such).
 */
export interface ITrainingNetwork extends IConstruct {
  /** The VPC. */
  readonly vpc: ec2.IVpc;
  /** The private subnet, in one Availability Zone, where the cluster's nodes and the file system live. */
  readonly computeSubnet: ec2.ISubnet;
  /** All traffic to and from itself: attach it to every node and EFA-enabled resource. */
  readonly efaSecurityGroup: ec2.ISecurityGroup;
  /** AZ ID of the compute subnet, when known at synth (used to check training plans). */
  readonly availabilityZoneId?: string;
}

/** Attributes of an existing network, to use the other constructs with a VPC built elsewhere. */
export interface TrainingNetworkAttributes {
  /** The existing VPC. */
  readonly vpc: ec2.IVpc;
  /** Its private subnet for the cluster and the file system, in one AZ. */
  readonly computeSubnet: ec2.ISubnet;
  /** A group with all traffic from and to itself (see EfaSecurityGroup). */
  readonly efaSecurityGroup: ec2.ISecurityGroup;
  /**
   * AZ ID of the compute subnet, to check training plans against.
   * @default - unknown: training-plan AZs are not checked
   */
  readonly availabilityZoneId?: string;
}

/** AWS services a cluster without internet reaches through interface endpoints (HyperPod prerequisites). */
export const CLUSTER_INTERFACE_ENDPOINTS: Record<ClusterInterfaceEndpointId, ec2.InterfaceVpcEndpointAwsService> = {
  Ec2: ec2.InterfaceVpcEndpointAwsService.EC2,
  EcrApi: ec2.InterfaceVpcEndpointAwsService.ECR,
  EcrDocker: ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
  Sts: ec2.InterfaceVpcEndpointAwsService.STS,
  Logs: ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
  Monitoring: ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_MONITORING,
  Ssm: ec2.InterfaceVpcEndpointAwsService.SSM,
  SsmMessages: ec2.InterfaceVpcEndpointAwsService.SSM_MESSAGES,
  Ec2Messages: ec2.InterfaceVpcEndpointAwsService.EC2_MESSAGES,
  PrometheusWorkspaces: ec2.InterfaceVpcEndpointAwsService.PROMETHEUS_WORKSPACES,
  // Job-end notifications from the controller, and the experiment-tracking key for jobs.
  Sns: ec2.InterfaceVpcEndpointAwsService.SNS,
  SecretsManager: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
};


export interface TrainingNetworkProps {
  /**
   * The nodes the compute subnet must hold, all groups together (controller and login included). The subnet
   * cannot be resized after creation, so plan for the largest cluster.
   */
  readonly plannedNodes: PlannedNodes[];
  /**
   * Use an existing VPC instead of creating one.
   * @default - a new VPC with `vpcCidr`
   */
  readonly vpc?: ec2.IVpc;
  /**
   * An existing private subnet for the cluster (with `vpc`). Its size is checked against `plannedNodes` when
   * its CIDR block is known.
   * @default - a new subnet in `vpc`
   */
  readonly computeSubnet?: ec2.ISubnet;
  /**
   * CIDR block of the new VPC.
   * @default '10.0.0.0/16'
   */
  readonly vpcCidr?: string;
  /**
   * CIDR block of the new compute subnet. Required when a new subnet is created in an existing VPC.
   * @default - the first block of the VPC, sized for `plannedNodes` with 50% headroom
   */
  readonly computeSubnetCidr?: string;
  /**
   * Availability Zone ID of the compute subnet (e.g. `use1-az6`), stable across accounts: use the AZ of your
   * training plan or capacity reservation. Exclusive with `availabilityZone`. With `computeSubnet` it states the
   * AZ ID that subnet is in (AZ names map to IDs per account, so it cannot be checked at synth) and training plans
   * are checked against it.
   * @default - the first Availability Zone of the region; with `computeSubnet`, unknown
   */
  readonly availabilityZoneId?: string;
  /**
   * Availability Zone name of the compute subnet (e.g. `us-east-1a`). Exclusive with `availabilityZoneId`. With
   * `computeSubnet` it must match the subnet's AZ when that is known.
   * @default - the first Availability Zone of the region
   */
  readonly availabilityZone?: string;
  /**
   * Give the compute subnet internet egress through a NAT gateway (in a small public subnet of the same AZ).
   * Only for a new VPC; with an existing one, its routes are yours.
   * @default true
   */
  readonly natGateway?: boolean;
  /**
   * Add the interface endpoints a cluster without internet needs (`CLUSTER_INTERFACE_ENDPOINTS`), in the compute
   * subnet, which must then be private.
   * @default false
   */
  readonly interfaceEndpoints?: boolean;
  /**
   * Add an S3 gateway endpoint on the compute subnet's route table (datasets and checkpoints do not go through
   * NAT). Turn off when the network team's VPC already has one on that route table, or manages its routes itself.
   * @default true
   */
  readonly s3GatewayEndpoint?: boolean;
  /**
   * Allow HTTPS egress to anywhere from the EFA security group (see `EfaSecurityGroupProps.allowHttpsEgress`).
   * @default true
   */
  readonly allowHttpsEgress?: boolean;
  /**
   * Retention of the VPC flow logs.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly flowLogRetention?: logs.RetentionDays;
  /**
   * What happens to the flow-log group when the stack no longer has it: kept by default, except when the
   * stack's first create fails (nothing was logged worth keeping, and a retry would find an orphan).
   * @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE (CloudFormation `RetainExceptOnCreate`)
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The network for a HyperPod training cluster: a VPC (new or yours), one private compute subnet in a chosen
 * Availability Zone sized for the nodes' EFA interfaces, an EFA security group, an S3 gateway endpoint,
 * optional NAT egress and interface endpoints, and flow logs.
 */
export class TrainingNetwork extends Construct implements ITrainingNetwork {
  /** Use an existing VPC, subnet and EFA security group with the other constructs. */
  public static fromTrainingNetworkAttributes(scope: Construct, id: string, attrs: TrainingNetworkAttributes): ITrainingNetwork {
    class Imported extends Construct implements ITrainingNetwork {
      public readonly vpc = attrs.vpc;
      public readonly computeSubnet = attrs.computeSubnet;
      public readonly efaSecurityGroup = attrs.efaSecurityGroup;
      public readonly availabilityZoneId = attrs.availabilityZoneId;
    }
    return new Imported(scope, id);
  }

  /** @deprecated Use `fromTrainingNetworkAttributes`, named after the class like every import of this library. */
  public static fromNetworkAttributes(scope: Construct, id: string, attrs: TrainingNetworkAttributes): ITrainingNetwork {
    return TrainingNetwork.fromTrainingNetworkAttributes(scope, id, attrs);
  }

  public readonly vpc: ec2.IVpc;
  public readonly computeSubnet: ec2.ISubnet;
  public readonly efaSecurityGroup: ec2.ISecurityGroup;
  public readonly availabilityZoneId?: string;
  /** IP addresses the planned nodes and other ENIs need in the compute subnet. */
  public readonly requiredAddresses: number;

  constructor(scope: Construct, id: string, props: TrainingNetworkProps) {
    super(scope, id);
    requireProp(this, 'plannedNodes', props.plannedNodes, 'the nodes the compute subnet must hold, e.g. [{ instanceType: \'ml.p5.48xlarge\', count: 4 }]');
    let nodeAddresses = 0;
    collectConfigurationErrors(this, () => {
      validateProps(this, props);
      nodeAddresses = addressesForNodes(this, 'plannedNodes', props.plannedNodes);
    });
    this.requiredAddresses = nodeAddresses + FILE_SYSTEM_NETWORK_INTERFACES
      + (props.interfaceEndpoints ? Object.keys(CLUSTER_INTERFACE_ENDPOINTS).length : 0);

    const vpcCidr = props.vpcCidr ?? '10.0.0.0/16';
    this.vpc = props.vpc ?? this.createVpc(vpcCidr, props);
    const az = availabilityZoneOf(props);
    this.availabilityZoneId = props.availabilityZoneId;
    if (props.computeSubnet) {
      this.computeSubnet = props.computeSubnet;
      collectConfigurationErrors(this, () => checkSubnetSize(this, 'computeSubnet', importedSubnetCidr(this, props.computeSubnet!, this.requiredAddresses), this.requiredAddresses));
    } else {
      const cidr = props.computeSubnetCidr ?? defaultComputeCidr(vpcCidr, this.requiredAddresses);
      collectConfigurationErrors(this, () => checkSubnetSize(this, 'computeSubnetCidr', cidr, this.requiredAddresses));
      this.computeSubnet = this.createSubnet('ComputeSubnet', cidr, az);
      if (!props.vpc && (props.natGateway ?? true)) this.addNatEgress(vpcCidr, az);
    }

    this.efaSecurityGroup = new EfaSecurityGroup(this, 'EfaSecurityGroup', {
      vpc: this.vpc,
      allowHttpsEgress: props.allowHttpsEgress,
    });
    if (props.s3GatewayEndpoint ?? true) {
      this.vpc.addGatewayEndpoint('S3Endpoint', {
        service: ec2.GatewayVpcEndpointAwsService.S3,
        subnets: [{ subnets: [this.computeSubnet] }],
      });
    }
    if (props.interfaceEndpoints) this.addInterfaceEndpoints();
  }

  private createVpc(cidr: string, props: TrainingNetworkProps): ec2.Vpc {
    const vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(cidr),
      subnetConfiguration: [],
      natGateways: 0,
      restrictDefaultSecurityGroup: true,
    });
    const logGroup = new logs.LogGroup(this, 'FlowLogGroup', {
      retention: props.flowLogRetention ?? logs.RetentionDays.ONE_YEAR,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });
    vpc.addFlowLog('FlowLog', { destination: ec2.FlowLogDestination.toCloudWatchLogs(logGroup) });
    return vpc;
  }

  /** A subnet with its own route table; the AZ may be an AZ ID, which the L2 Subnet cannot express. */
  private createSubnet(id: string, cidr: string, az: AzChoice): ec2.ISubnet {
    const subnet = new ec2.CfnSubnet(this, id, {
      vpcId: this.vpc.vpcId,
      cidrBlock: cidr,
      availabilityZone: az.name,
      availabilityZoneId: az.id,
      // Only the NAT gateway lives in the public subnet, on its own Elastic IP.
      mapPublicIpOnLaunch: false,
      tags: [{ key: 'Name', value: `${this.node.path}/${id}` }],
    });
    const routeTable = new ec2.CfnRouteTable(this, `${id}RouteTable`, { vpcId: this.vpc.vpcId });
    new ec2.CfnSubnetRouteTableAssociation(this, `${id}RouteTableAssociation`, {
      subnetId: subnet.ref,
      routeTableId: routeTable.ref,
    });
    return ec2.Subnet.fromSubnetAttributes(this, `${id}Ref`, {
      subnetId: subnet.ref,
      availabilityZone: subnet.attrAvailabilityZone,
      routeTableId: routeTable.ref,
      ipv4CidrBlock: cidr,
    });
  }

  /** A /28 public subnet in the same AZ holding the NAT gateway, so NAT traffic never crosses AZs. */
  private addNatEgress(vpcCidr: string, az: AzChoice): void {
    const publicSubnet = this.createSubnet('PublicSubnet', lastBlock(vpcCidr, 28), az);
    const igw = new ec2.CfnInternetGateway(this, 'InternetGateway');
    const attachment = new ec2.CfnVPCGatewayAttachment(this, 'InternetGatewayAttachment', {
      vpcId: this.vpc.vpcId,
      internetGatewayId: igw.ref,
    });
    const internetRoute = new ec2.CfnRoute(this, 'PublicSubnetDefaultRoute', {
      routeTableId: publicSubnet.routeTable.routeTableId,
      destinationCidrBlock: '0.0.0.0/0',
      gatewayId: igw.ref,
    });
    internetRoute.node.addDependency(attachment);
    const eip = new ec2.CfnEIP(this, 'NatEip', { domain: 'vpc' });
    const nat = new ec2.CfnNatGateway(this, 'NatGateway', {
      subnetId: publicSubnet.subnetId,
      allocationId: eip.attrAllocationId,
    });
    nat.node.addDependency(internetRoute);
    new ec2.CfnRoute(this, 'ComputeSubnetDefaultRoute', {
      routeTableId: this.computeSubnet.routeTable.routeTableId,
      destinationCidrBlock: '0.0.0.0/0',
      natGatewayId: nat.ref,
    });
  }

  /** The endpoints admit HTTPS from the cluster's security group only, not from the whole VPC. */
  private addInterfaceEndpoints(): void {
    const endpointSecurityGroup = new ClosedSecurityGroup(this, 'EndpointSecurityGroup', {
      vpc: this.vpc,
      description: `${this.node.path}: HTTPS from the cluster to the AWS service endpoints`,
    });
    endpointSecurityGroup.addIngressRule(this.efaSecurityGroup, ec2.Port.tcp(443), 'HTTPS from cluster nodes');
    for (const [id, service] of Object.entries(CLUSTER_INTERFACE_ENDPOINTS)) {
      this.vpc.addInterfaceEndpoint(`${id}Endpoint`, {
        service,
        subnets: { subnets: [this.computeSubnet] },
        privateDnsEnabled: true,
        open: false,
        securityGroups: [endpointSecurityGroup],
      });
    }
  }
}

interface AzChoice { readonly name?: string; readonly id?: string }

function availabilityZoneOf(props: TrainingNetworkProps): AzChoice {
  if (props.availabilityZoneId) return { id: props.availabilityZoneId };
  return { name: props.availabilityZone ?? Fn.select(0, Fn.getAzs()) };
}

function validateProps(scope: IConstruct, props: TrainingNetworkProps): void {
  if (props.availabilityZone && props.availabilityZoneId) {
    reportError(scope, 'availabilityZoneId',
      `and availabilityZone are exclusive: give one, got '${props.availabilityZoneId}' and '${props.availabilityZone}'`);
  }
  if (props.availabilityZoneId) {
    requireMatch(scope, 'availabilityZoneId', props.availabilityZoneId, /^[a-z]{2,}[0-9]*-az[0-9]+$/,
      "an Availability Zone ID such as 'use1-az6'");
  }
  if (props.computeSubnet && !props.vpc) {
    throw new ConfigurationError(scope, 'computeSubnet', 'needs the vpc it belongs to: set vpc as well');
  }
  if (props.vpc && !props.computeSubnet && !props.computeSubnetCidr) {
    throw new ConfigurationError(scope, 'computeSubnetCidr',
      'is required to create a compute subnet in an existing vpc (or pass computeSubnet), got undefined');
  }
  if (props.vpc && props.computeSubnet) validateImportedSubnet(scope, props, props.vpc, props.computeSubnet);
  for (const field of ['vpcCidr', 'computeSubnetCidr'] as const) {
    const cidr = props[field];
    if (cidr === undefined) continue;
    requireMatch(scope, field, cidr, /^(\d{1,3}\.){3}\d{1,3}\/(1[6-9]|2[0-8])$/, 'an IPv4 CIDR block from /16 to /28');
  }
}

/** What an imported VPC says about an imported subnet, where its attributes are literal. */
function validateImportedSubnet(scope: IConstruct, props: TrainingNetworkProps, vpc: ec2.IVpc, subnet: ec2.ISubnet): void {
  const known = (v: string | undefined): v is string => v !== undefined && !Token.isUnresolved(v);
  const az = known(subnet.availabilityZone) ? subnet.availabilityZone : undefined;
  if (props.availabilityZone && az && props.availabilityZone !== az) {
    reportError(scope, 'availabilityZone', `must be the AZ of computeSubnet ${subnet.subnetId} (${az}) or unset, got '${props.availabilityZone}'`);
  }
  const vpcAzs = vpc.availabilityZones.filter(known);
  if (az && vpcAzs.length > 0 && vpcAzs.length === vpc.availabilityZones.length && !vpcAzs.includes(az)) {
    reportError(scope, 'computeSubnet', `must be in an Availability Zone of the vpc (${vpcAzs.join(', ')}), got ${subnet.subnetId} in ${az}`);
  }
  const ids = (subnets: ec2.ISubnet[]) => subnets.map((s) => s.subnetId).filter(known);
  const listed = [...ids(vpc.privateSubnets), ...ids(vpc.isolatedSubnets), ...ids(vpc.publicSubnets)];
  if (!known(subnet.subnetId) || listed.length === 0) return;
  if (!listed.includes(subnet.subnetId)) {
    reportError(scope, 'computeSubnet', `must be a subnet of the vpc ${vpc.vpcId} (its subnets: ${listed.join(', ')}), got ${subnet.subnetId}`);
  } else if (ids(vpc.publicSubnets).includes(subnet.subnetId)) {
    reportError(scope, 'computeSubnet', 'must be a private subnet (HyperPod nodes have no public addresses; interface endpoints '
      + `and the file system belong in private subnets), got public subnet ${subnet.subnetId}`);
  }
}

/**
 * An imported subnet's CIDR, when it was imported with one. The L2 getter throws for a subnet imported without
 * `ipv4CidrBlock`; then the size cannot be checked, which is worth a warning, not a crash.
 */
function importedSubnetCidr(scope: IConstruct, subnet: ec2.ISubnet, required: number): string | undefined {
  try {
    return subnet.ipv4CidrBlock;
  } catch {
    Annotations.of(scope).addWarningV2('cdk-hyperpod-training:computeSubnetSizeUnknown',
      `computeSubnet ${subnet.subnetId} was imported without ipv4CidrBlock, so its size cannot be checked against the `
      + `${required} IP addresses the planned nodes need (EFA interfaces): import it with ipv4CidrBlock`);
    return undefined;
  }
}

function checkSubnetSize(scope: IConstruct, field: string, cidr: string | undefined, required: number): void {
  if (cidr === undefined || Token.isUnresolved(cidr)) return;
  const available = usableAddresses(cidrMaskOf(cidr));
  if (available >= required) return;
  reportError(scope, field,
    `must hold ${required} IP addresses for the planned nodes (EFA interfaces) and file system, `
    + `got ${cidr} with ${available} usable: use /${smallestCidrMaskFor(required)} or larger`);
}

/**
 * The first block of the VPC, sized for `required` addresses plus 50% headroom for node replacement, and
 * never smaller than a /24 (addresses are free; a subnet cannot grow later).
 */
function defaultComputeCidr(vpcCidr: string, required: number): string {
  const sized = Math.min(24, smallestCidrMaskFor(Math.ceil(required * 1.5)));
  const mask = Math.max(sized, cidrMaskOf(vpcCidr) + 1);
  return `${vpcCidr.split('/')[0]}/${mask}`;
}

/** The last block of the given prefix length inside `cidr`. */
function lastBlock(cidr: string, mask: number): string {
  const [base, bits] = cidr.split('/');
  const start = base.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
  const last = start + 2 ** (32 - Number(bits)) - 2 ** (32 - mask);
  const octets = [24, 16, 8, 0].map((shift) => Math.floor(last / 2 ** shift) % 256);
  return `${octets.join('.')}/${mask}`;
}

