import { Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { CLUSTER_INTERFACE_ENDPOINTS, configurationProblems, TrainingNetwork, TrainingNetworkProps } from '../../lib';
import { testStack } from '../util';

const SWALLOW_NODES = [
  { instanceType: 'ml.m5.12xlarge', count: 1 },
  { instanceType: 'ml.m5.4xlarge', count: 1 },
  { instanceType: 'ml.p5.48xlarge', count: 32 },
];

/** The inline rule that keeps a group's egress closed (see ClosedSecurityGroup). */
const NO_TRAFFIC = { CidrIp: '255.255.255.255/32', IpProtocol: 'icmp', FromPort: 86, ToPort: 251, Description: expect.any(String) };

function synth(props: Partial<TrainingNetworkProps> = {}): { stack: Stack; network: TrainingNetwork; template: Template } {
  const stack = testStack();
  const network = new TrainingNetwork(stack, 'Network', { plannedNodes: SWALLOW_NODES, ...props });
  return { stack, network, template: Template.fromStack(stack) };
}

describe('TrainingNetwork: a new VPC', () => {
  const { network, template } = synth();

  test('sizes the compute subnet for 32 p5 nodes (32 addresses each) with headroom: a /21', () => {
    expect(network.requiredAddresses).toBe(32 * 32 + 2 + 16);
    template.hasResourceProperties('AWS::EC2::Subnet', {
      CidrBlock: '10.0.0.0/21',
      MapPublicIpOnLaunch: false,
      AvailabilityZone: { 'Fn::Select': [0, { 'Fn::GetAZs': '' }] },
    });
  });

  test('puts the NAT gateway in a /28 public subnet of the same AZ and routes the compute subnet through it', () => {
    template.hasResourceProperties('AWS::EC2::Subnet', { CidrBlock: '10.0.255.240/28', MapPublicIpOnLaunch: false });
    template.resourceCountIs('AWS::EC2::NatGateway', 1);
    template.hasResourceProperties('AWS::EC2::Route', {
      DestinationCidrBlock: '0.0.0.0/0',
      NatGatewayId: Match.anyValue(),
      RouteTableId: { Ref: Match.stringLikeRegexp('ComputeSubnetRouteTable') },
    });
  });

  test('always adds an S3 gateway endpoint on the compute route table', () => {
    template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      VpcEndpointType: 'Gateway',
      ServiceName: { 'Fn::Join': ['', ['com.amazonaws.', { Ref: 'AWS::Region' }, '.s3']] },
      RouteTableIds: [{ Ref: Match.stringLikeRegexp('ComputeSubnetRouteTable') }],
    });
    template.resourcePropertiesCountIs('AWS::EC2::VPCEndpoint', { VpcEndpointType: 'Interface' }, 0);
  });

  test('turns flow logs on, retained for a year', () => {
    template.hasResourceProperties('AWS::EC2::FlowLog', { ResourceType: 'VPC', TrafficType: 'ALL' });
    template.hasResource('AWS::Logs::LogGroup', {
      Properties: { RetentionInDays: 365 },
      DeletionPolicy: 'RetainExceptOnCreate',
    });
  });

  test('EFA security group: all traffic from and to itself, no all-traffic egress to the internet', () => {
    const sgId = { 'Fn::GetAtt': [Match.stringLikeRegexp('EfaSecurityGroup'), 'GroupId'] };
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', { IpProtocol: '-1', SourceSecurityGroupId: sgId, GroupId: sgId });
    template.hasResourceProperties('AWS::EC2::SecurityGroupEgress', { IpProtocol: '-1', DestinationSecurityGroupId: sgId, GroupId: sgId });
    const groups = template.findResources('AWS::EC2::SecurityGroup', { Properties: { GroupDescription: Match.stringLikeRegexp('EFA') } });
    const egress = Object.values(groups)[0].Properties.SecurityGroupEgress;
    expect(egress).toEqual([
      NO_TRAFFIC,
      { CidrIp: '0.0.0.0/0', FromPort: 443, ToPort: 443, IpProtocol: 'tcp', Description: expect.any(String) },
    ]);
  });
});

describe('TrainingNetwork options', () => {
  test('availabilityZoneId places the subnets by AZ ID, not name', () => {
    const { template } = synth({ availabilityZoneId: 'use1-az6' });
    template.resourcePropertiesCountIs('AWS::EC2::Subnet', { AvailabilityZoneId: 'use1-az6', AvailabilityZone: Match.absent() }, 2);
  });

  test('availabilityZone places the subnets by name', () => {
    const { template } = synth({ availabilityZone: 'us-east-1d' });
    template.resourcePropertiesCountIs('AWS::EC2::Subnet', { AvailabilityZone: 'us-east-1d' }, 2);
  });

  test('natGateway: false leaves the cluster without internet egress', () => {
    const { template } = synth({ natGateway: false });
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.resourceCountIs('AWS::EC2::InternetGateway', 0);
    template.resourceCountIs('AWS::EC2::Subnet', 1);
  });

  test('interfaceEndpoints adds every endpoint a cluster without internet needs, open to the cluster only', () => {
    const { template, network } = synth({ interfaceEndpoints: true });
    const count = Object.keys(CLUSTER_INTERFACE_ENDPOINTS).length;
    expect(count).toBe(12);
    template.resourcePropertiesCountIs('AWS::EC2::VPCEndpoint', { VpcEndpointType: 'Interface', PrivateDnsEnabled: true }, count);
    for (const service of ['ecr.api', 'ecr.dkr', 'sts', 'logs', 'monitoring', 'ssm', 'ssmmessages', 'ec2messages', 'aps-workspaces', 'ec2', 'sns', 'secretsmanager']) {
      template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
        ServiceName: { 'Fn::Join': ['', ['com.amazonaws.', { Ref: 'AWS::Region' }, `.${service}`]] },
      });
    }
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      FromPort: 443,
      ToPort: 443,
      SourceSecurityGroupId: Stack.of(network).resolve(network.efaSecurityGroup.securityGroupId),
    });
    expect(network.requiredAddresses).toBe(32 * 32 + 2 + 16 + 12);
  });

  test('allowHttpsEgress: false leaves only the self rules, and no CloudFormation default allow-all egress', () => {
    const { template } = synth({ allowHttpsEgress: false });
    const groups = template.findResources('AWS::EC2::SecurityGroup', { Properties: { GroupDescription: Match.stringLikeRegexp('EFA') } });
    expect(Object.values(groups)[0].Properties.SecurityGroupEgress).toEqual([NO_TRAFFIC]);
  });

  test('an explicit compute subnet CIDR and VPC CIDR are used as given', () => {
    const { template } = synth({ vpcCidr: '10.20.0.0/16', computeSubnetCidr: '10.20.64.0/18' });
    template.hasResourceProperties('AWS::EC2::VPC', { CidrBlock: '10.20.0.0/16' });
    template.hasResourceProperties('AWS::EC2::Subnet', { CidrBlock: '10.20.64.0/18' });
    template.hasResourceProperties('AWS::EC2::Subnet', { CidrBlock: '10.20.255.240/28' });
  });

  test('a small cluster gets a /24, the smallest default', () => {
    const { template } = synth({ plannedNodes: [{ instanceType: 'ml.g5.2xlarge', count: 2 }] });
    template.hasResourceProperties('AWS::EC2::Subnet', { CidrBlock: '10.0.0.0/24' });
  });
});

describe('TrainingNetwork with an existing VPC', () => {
  function existing(stack: Stack) {
    return ec2.Vpc.fromVpcAttributes(stack, 'Existing', { vpcId: 'vpc-12345678', availabilityZones: ['us-east-1a'] });
  }

  test('creates a compute subnet in it, without a NAT gateway or flow logs of its own', () => {
    const stack = testStack();
    new TrainingNetwork(stack, 'Network', { plannedNodes: SWALLOW_NODES, vpc: existing(stack), computeSubnetCidr: '10.1.0.0/20' });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::EC2::Subnet', { VpcId: 'vpc-12345678', CidrBlock: '10.1.0.0/20' });
    template.resourceCountIs('AWS::EC2::VPC', 0);
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.resourceCountIs('AWS::EC2::FlowLog', 0);
  });

  test('uses an existing subnet and checks it can hold the cluster', () => {
    const stack = testStack();
    const subnet = ec2.Subnet.fromSubnetAttributes(stack, 'Sub', {
      subnetId: 'subnet-1', availabilityZone: 'us-east-1a', routeTableId: 'rtb-1', ipv4CidrBlock: '10.1.0.0/22',
    });
    new TrainingNetwork(stack, 'Network', { plannedNodes: SWALLOW_NODES, vpc: existing(stack), computeSubnet: subnet });
    expect(configurationProblems(stack)).toEqual(['Test/Network: computeSubnet must hold 1042 IP addresses for the planned '
      + 'nodes (EFA interfaces) and file system, got 10.1.0.0/22 with 1019 usable: use /21 or larger']);
  });

  /** The network team's VPC as `fromVpcAttributes` knows it: one private and one public subnet in us-east-1a. */
  function shared(stack: Stack) {
    return ec2.Vpc.fromVpcAttributes(stack, 'Shared', {
      vpcId: 'vpc-12345678', availabilityZones: ['us-east-1a'],
      privateSubnetIds: ['subnet-private'], privateSubnetRouteTableIds: ['rtb-private'],
      publicSubnetIds: ['subnet-public'], publicSubnetRouteTableIds: ['rtb-public'],
    });
  }
  function subnetOf(stack: Stack, subnetId: string, availabilityZone = 'us-east-1a') {
    return ec2.Subnet.fromSubnetAttributes(stack, `Sub-${subnetId}`, { subnetId, availabilityZone, routeTableId: 'rtb-private', ipv4CidrBlock: '10.1.0.0/20' });
  }
  function importedProblems(props: Partial<TrainingNetworkProps>, subnetId = 'subnet-private', availabilityZone?: string): string[] {
    const stack = testStack();
    new TrainingNetwork(stack, 'Network', {
      plannedNodes: SWALLOW_NODES, vpc: shared(stack), computeSubnet: subnetOf(stack, subnetId, availabilityZone), ...props,
    });
    return configurationProblems(stack);
  }

  test('availabilityZoneId with an existing subnet is kept, so training plans are checked against it', () => {
    const stack = testStack();
    const network = new TrainingNetwork(stack, 'Network', {
      plannedNodes: SWALLOW_NODES, vpc: shared(stack), computeSubnet: subnetOf(stack, 'subnet-private'), availabilityZoneId: 'use1-az6',
    });
    expect(network.availabilityZoneId).toBe('use1-az6');
    expect(configurationProblems(stack)).toEqual([]);
  });

  test('an AZ name that is not the existing subnet\'s is refused', () => {
    expect(importedProblems({ availabilityZone: 'us-east-1b' })).toEqual([
      "Test/Network: availabilityZone must be the AZ of computeSubnet subnet-private (us-east-1a) or unset, got 'us-east-1b'"]);
  });

  test('a subnet that is not one of the imported VPC\'s subnets is refused', () => {
    expect(importedProblems({}, 'subnet-elsewhere')).toEqual(['Test/Network: computeSubnet must be a subnet of the vpc '
      + 'vpc-12345678 (its subnets: subnet-private, subnet-public), got subnet-elsewhere']);
  });

  test('a subnet in an AZ the imported VPC does not have is refused', () => {
    expect(importedProblems({}, 'subnet-private', 'us-east-1c')).toEqual([
      'Test/Network: computeSubnet must be in an Availability Zone of the vpc (us-east-1a), got subnet-private in us-east-1c']);
  });

  test('a public subnet is refused: nodes and interface endpoints need a private one', () => {
    expect(importedProblems({ interfaceEndpoints: true }, 'subnet-public')).toEqual([
      'Test/Network: computeSubnet must be a private subnet (HyperPod nodes have no public addresses; interface endpoints '
      + 'and the file system belong in private subnets), got public subnet subnet-public']);
  });

  test('a subnet imported without its CIDR is a warning that its size is unchecked, not a crash', () => {
    const stack = testStack();
    const subnet = ec2.Subnet.fromSubnetAttributes(stack, 'NoCidr', { subnetId: 'subnet-private', availabilityZone: 'us-east-1a', routeTableId: 'rtb-private' });
    new TrainingNetwork(stack, 'Network', { plannedNodes: SWALLOW_NODES, vpc: shared(stack), computeSubnet: subnet });
    expect(configurationProblems(stack)).toEqual([]);
    expect(Annotations.fromStack(stack).findWarning('/Test/Network', Match.stringLikeRegexp(
      'computeSubnet subnet-private was imported without ipv4CidrBlock, so its size cannot be checked against the \\d+ IP addresses'))).toHaveLength(1);
  });

  test('s3GatewayEndpoint: false leaves the network team\'s route table alone', () => {
    const stack = testStack();
    new TrainingNetwork(stack, 'Network', {
      plannedNodes: SWALLOW_NODES, vpc: shared(stack), computeSubnet: subnetOf(stack, 'subnet-private'), s3GatewayEndpoint: false,
    });
    Template.fromStack(stack).resourceCountIs('AWS::EC2::VPCEndpoint', 0);
  });

  test('the S3 gateway endpoint is added to an existing subnet\'s route table by default', () => {
    const stack = testStack();
    new TrainingNetwork(stack, 'Network', { plannedNodes: SWALLOW_NODES, vpc: shared(stack), computeSubnet: subnetOf(stack, 'subnet-private') });
    Template.fromStack(stack).hasResourceProperties('AWS::EC2::VPCEndpoint', { VpcEndpointType: 'Gateway', RouteTableIds: ['rtb-private'] });
  });

  test('fromTrainingNetworkAttributes exposes what it was given; the deprecated fromNetworkAttributes is the same', () => {
    const stack = testStack();
    const vpc = existing(stack);
    const subnet = ec2.Subnet.fromSubnetId(stack, 'Sub', 'subnet-1');
    const sg = ec2.SecurityGroup.fromSecurityGroupId(stack, 'Sg', 'sg-1');
    const network = TrainingNetwork.fromTrainingNetworkAttributes(stack, 'Imported', { vpc, computeSubnet: subnet, efaSecurityGroup: sg });
    expect([network.vpc, network.computeSubnet, network.efaSecurityGroup]).toEqual([vpc, subnet, sg]);
    const old = TrainingNetwork.fromNetworkAttributes(stack, 'Old', { vpc, computeSubnet: subnet, efaSecurityGroup: sg });
    expect([old.vpc, old.computeSubnet, old.efaSecurityGroup]).toEqual([vpc, subnet, sg]);
  });
});

describe('TrainingNetwork validation', () => {
  const cases: Array<[string, Partial<TrainingNetworkProps>, string]> = [
    ['a compute subnet too small for the cluster', { computeSubnetCidr: '10.0.0.0/24' },
      'Test/Network: computeSubnetCidr must hold 1042 IP addresses for the planned nodes (EFA interfaces) and file system, got 10.0.0.0/24 with 251 usable: use /21 or larger'],
    ['an unknown instance type', { plannedNodes: [{ instanceType: 'ml.p9.96xlarge', count: 2 }] },
      "Test/Network: plannedNodes[0].instanceType must be a HyperPod instance type (ml.p4d.24xlarge, "],
    ['a node count below 1', { plannedNodes: [{ instanceType: 'ml.p5.48xlarge', count: 0 }] },
      'Test/Network: plannedNodes[0].count must be an integer >= 1, got 0'],
    ['both an AZ name and an AZ ID', { availabilityZone: 'us-east-1a', availabilityZoneId: 'use1-az6' },
      "Test/Network: availabilityZoneId and availabilityZone are exclusive: give one, got 'use1-az6' and 'us-east-1a'"],
    ['an AZ name given as an AZ ID', { availabilityZoneId: 'us-east-1a' },
      "Test/Network: availabilityZoneId must be an Availability Zone ID such as 'use1-az6', got 'us-east-1a'"],
    ['a malformed VPC CIDR', { vpcCidr: '10.0.0.0/8' },
      "Test/Network: vpcCidr must be an IPv4 CIDR block from /16 to /28, got '10.0.0.0/8'"],
  ];
  test.each(cases)('refuses %s', (_name, props, message) => {
    expect(() => synth(props)).toThrow(message);
  });

  test('refuses a computeSubnet without its vpc', () => {
    const stack = testStack();
    const subnet = ec2.Subnet.fromSubnetId(stack, 'Sub', 'subnet-1');
    expect(() => new TrainingNetwork(stack, 'Network', { plannedNodes: SWALLOW_NODES, computeSubnet: subnet }))
      .toThrow('Test/Network: computeSubnet needs the vpc it belongs to: set vpc as well');
  });

  test('refuses an existing vpc with neither a subnet nor a CIDR for one', () => {
    const stack = testStack();
    const vpc = ec2.Vpc.fromVpcAttributes(stack, 'Existing', { vpcId: 'vpc-1', availabilityZones: ['us-east-1a'] });
    expect(() => new TrainingNetwork(stack, 'Network', { plannedNodes: SWALLOW_NODES, vpc }))
      .toThrow('Test/Network: computeSubnetCidr is required to create a compute subnet in an existing vpc');
  });
});
