import { App, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { acknowledgeWildcardResources } from '../../lib/core/nag-acknowledgement';
import { HyperPodCluster } from '../../lib/cluster/hyperpod-cluster';
import { ModelEndpoint } from '../../lib/inference/model-endpoint';
import { EfaSecurityGroup } from '../../lib/network/efa-security-group';
import { TrainingNetwork } from '../../lib/network/training-network';
import { TrainingObservability } from '../../lib/observability/training-observability';
import { LustreStorage } from '../../lib/storage/lustre-storage';
import { CDK_CONTEXT } from '../util';

const CONCRETE = { account: '123456789012', region: 'us-east-1' };

function findings(stack: Stack): string[] {
  return new AwsSolutionsChecks().validateScope(stack).violations.map((v) => v.ruleName);
}

/** The whole library in one stack on an imported network (no AZ lookup: the VPC's attributes are given). */
function platform(stack: Stack): void {
  const vpc = ec2.Vpc.fromVpcAttributes(stack, 'Vpc', { vpcId: 'vpc-0123456789abcdef0', availabilityZones: ['us-east-1a'] });
  const computeSubnet = ec2.Subnet.fromSubnetAttributes(stack, 'Subnet', {
    subnetId: 'subnet-0123456789abcdef0', availabilityZone: 'us-east-1a', routeTableId: 'rtb-0123456789abcdef0', ipv4CidrBlock: '10.1.0.0/21',
  });
  const network = TrainingNetwork.fromTrainingNetworkAttributes(stack, 'Network', {
    vpc, computeSubnet, efaSecurityGroup: new EfaSecurityGroup(stack, 'Efa', { vpc }), availabilityZoneId: 'use1-az6',
  });
  const storage = new LustreStorage(stack, 'Storage', { network, storageCapacityGiB: 2400 });
  storage.addDataRepository({ fileSystemPath: '/datasets', bucket: storage.datasetsBucket });
  const observability = new TrainingObservability(stack, 'Observability', {});
  new HyperPodCluster(stack, 'Cluster', {
    network, storage, observability,
    controllerGroup: { instanceType: 'ml.m5.xlarge' },
    computeGroups: [{ name: 'train', instanceType: 'ml.p5.48xlarge', count: 4 }],
  });
  new ModelEndpoint(stack, 'Serving', { checkpointsBucket: storage.checkpointsBucket, modelDataKey: 'run/hf/' });
}

describe('cdk-nag acknowledgements follow the stack environment', () => {
  test.each([
    ['agnostic, project flags', undefined, CDK_CONTEXT],
    ['concrete, project flags (partition literals)', CONCRETE, CDK_CONTEXT],
    ['concrete, no flags (a fresh app)', CONCRETE, {}],
  ])('%s: zero unacknowledged AwsSolutions findings', (_name, env, context) => {
    const stack = new Stack(new App({ context }), 'Platform', { env });
    platform(stack);
    expect(findings(stack)).toEqual([]);
  });

  test('a wildcard ARN is acknowledged in the spelling of the stack: literals when the env is concrete', () => {
    const stack = new Stack(new App({ context: CDK_CONTEXT }), 'S', { env: CONCRETE });
    const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com') });
    const arn = stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: 'x:*' });
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['logs:PutLogEvents'], resources: [arn] }));
    expect(findings(stack)).toEqual(['AwsSolutions-IAM5[Resource::arn:aws:logs:us-east-1:123456789012:log-group/x:*]']);
    acknowledgeWildcardResources(role, [arn], 'one log group');
    expect(findings(stack)).toEqual([]);
  });
});
