import { FILE_SYSTEM_NETWORK_INTERFACES, HYPERPOD_INSTANCE_TYPES } from '../../lib/catalog/hyperpod-instance-types';
import { CLUSTER_INTERFACE_ENDPOINTS, TrainingNetwork } from '../../lib/network/training-network';
import { PlannerInputError } from '../../lib/planner/errors';
import { runQuotasCommand } from '../../lib/planner-cli/quota-check';
import {
  CLUSTER_INTERFACE_ENDPOINT_COUNT, CONFIRMED_QUOTA_CODES, DeploymentShape, EBS_VOLUME_SIZE_QUOTA,
  INSTANCES_ACROSS_CLUSTERS_QUOTA, INSTANCES_PER_CLUSTER_QUOTA,
  NETWORK_INTERFACES_QUOTA, NodeRole, QuotaRequirement, QuotaServiceCode, clusterUsageQuotaName, requiredQuotas,
  totalEbsGiB,
} from '../../lib/planner/quotas';
import { PROFILES } from '../../lib/platform/profiles';
import { testStack } from '../util';

/** The quotas `quotas --json` reports for these flags. */
async function quotasFor(...argv: string[]): Promise<QuotaRequirement[]> {
  let stdout = '';
  const code = await runQuotasCommand([...argv, '--json'], { stdout: (t) => { stdout += t; }, stderr: () => undefined });
  expect(code).toBe(0);
  return JSON.parse(stdout).quotas;
}

function byName(quotas: readonly QuotaRequirement[], name: string): QuotaRequirement {
  const found = quotas.find((q) => q.quotaName === name);
  if (!found) throw new Error(`no quota '${name}' in ${quotas.map((q) => q.quotaName).join(', ')}`);
  return found;
}

const SWALLOW_SHAPE: DeploymentShape = {
  groups: [
    { role: NodeRole.COMPUTE, instanceType: 'ml.p5.48xlarge', count: 32 },
    { role: NodeRole.CONTROLLER, instanceType: 'ml.m5.12xlarge', count: 1 },
    { role: NodeRole.LOGIN, instanceType: 'ml.m5.4xlarge', count: 1 },
  ],
  interfaceEndpoints: CLUSTER_INTERFACE_ENDPOINT_COUNT,
};

describe('profile swallow-70b', () => {
  let quotas: QuotaRequirement[];
  beforeAll(async () => { quotas = await quotasFor('--profile', 'swallow-70b'); });

  test('32 ml.p5.48xlarge for cluster usage, and one of each support type', () => {
    expect(byName(quotas, 'ml.p5.48xlarge for cluster usage')).toMatchObject({
      serviceCode: 'sagemaker', quotaCode: 'L-8762A75F', required: 32, unit: 'instances',
    });
    expect(byName(quotas, 'ml.m5.12xlarge for cluster usage')).toMatchObject({ quotaCode: 'L-E2A0AC0F', required: 1 });
    expect(byName(quotas, 'ml.m5.4xlarge for cluster usage')).toMatchObject({ quotaCode: 'L-24520F3F', required: 1 });
  });

  test('34 instances per cluster and across clusters (32 compute, controller, login)', () => {
    expect(byName(quotas, INSTANCES_PER_CLUSTER_QUOTA)).toMatchObject({ quotaCode: 'L-2CE978FC', required: 34 });
    expect(byName(quotas, INSTANCES_ACROSS_CLUSTERS_QUOTA)).toMatchObject({ quotaCode: 'L-3308CCC7', required: 34 });
  });

  test('network interfaces: 32 per p5 (one per EFA card), one per CPU node, FSx, 12 endpoints, NAT', () => {
    const enis = byName(quotas, NETWORK_INTERFACES_QUOTA);
    expect(enis).toMatchObject({ serviceCode: 'vpc', quotaCode: 'L-DF5E4CA3' });
    expect(enis.required).toBe(32 * 32 + 2 + FILE_SYSTEM_NETWORK_INTERFACES + 12 + 1);
    expect(enis.required).toBeGreaterThanOrEqual(32 * 32 + 2);
    expect(enis.basis).toBe('32 compute x 32 EFA cards + 1 controller + 1 login + 16 FSx for Lustre '
      + '+ 12 interface endpoints + 1 NAT gateway');
  });

  test('EBS: the largest per-node volume, 500 GB on the GPU nodes', () => {
    expect(byName(quotas, EBS_VOLUME_SIZE_QUOTA)).toMatchObject({ quotaCode: 'L-E13DF72A', required: 500, unit: 'GB' });
  });

  test('the same as the library computes for the shape', () => {
    expect(quotas).toEqual(JSON.parse(JSON.stringify(requiredQuotas(SWALLOW_SHAPE))));
  });
});

describe('profile smoke', () => {
  test('2 ml.g5.2xlarge, a controller, no EFA, no endpoints', async () => {
    const quotas = await quotasFor('--profile', 'smoke');
    expect(quotas.map((q) => [q.quotaName, q.quotaCode, q.required])).toEqual([
      ['ml.g5.2xlarge for cluster usage', 'L-596C3331', 2],
      ['ml.m5.xlarge for cluster usage', 'L-E9225B85', 1],
      [INSTANCES_PER_CLUSTER_QUOTA, 'L-2CE978FC', 3],
      [INSTANCES_ACROSS_CLUSTERS_QUOTA, 'L-3308CCC7', 3],
      [EBS_VOLUME_SIZE_QUOTA, 'L-E13DF72A', 500],
      [NETWORK_INTERFACES_QUOTA, 'L-DF5E4CA3', 2 + 1 + FILE_SYSTEM_NETWORK_INTERFACES + 1],
    ]);
  });
});

describe('explicit flags', () => {
  test('--instance --nodes --login --ebs-gib: the default controller, 4 ENIs per p4d', async () => {
    const quotas = await quotasFor('--instance', 'ml.p4d.24xlarge', '--nodes', '4', '--login', 'ml.m5.4xlarge',
      '--ebs-gib', '1000');
    expect(byName(quotas, 'ml.p4d.24xlarge for cluster usage')).toMatchObject({ quotaCode: 'L-47E0BC8F', required: 4 });
    expect(byName(quotas, 'ml.m5.12xlarge for cluster usage').required).toBe(1);
    expect(byName(quotas, 'ml.m5.4xlarge for cluster usage').required).toBe(1);
    expect(byName(quotas, INSTANCES_PER_CLUSTER_QUOTA).required).toBe(6);
    expect(byName(quotas, EBS_VOLUME_SIZE_QUOTA).required).toBe(1000);
    expect(byName(quotas, NETWORK_INTERFACES_QUOTA).required).toBe(4 * 4 + 2 + FILE_SYSTEM_NETWORK_INTERFACES + 1);
  });

  test('--interface-endpoints adds the cluster endpoints; the ml. prefix may be omitted', async () => {
    const quotas = await quotasFor('--instance', 'p5.48xlarge', '--nodes', '2', '--controller', 'ml.m5.xlarge',
      '--interface-endpoints');
    expect(byName(quotas, 'ml.p5.48xlarge for cluster usage').required).toBe(2);
    expect(byName(quotas, NETWORK_INTERFACES_QUOTA).required).toBe(2 * 32 + 1 + FILE_SYSTEM_NETWORK_INTERFACES + 12 + 1);
  });

  test('a type without a confirmed code is looked up by name: no code is made up', async () => {
    const quotas = await quotasFor('--instance', 'ml.p5e.48xlarge', '--nodes', '8');
    expect(byName(quotas, 'ml.p5e.48xlarge for cluster usage')).toEqual(expect.objectContaining({
      quotaCode: null, required: 8,
    }));
  });
});

describe('requiredQuotas', () => {
  test('sums groups that share an instance type into one quota', () => {
    const quotas = requiredQuotas({
      groups: [
        { role: NodeRole.COMPUTE, instanceType: 'ml.g5.2xlarge', count: 2 },
        { role: NodeRole.CONTROLLER, instanceType: 'ml.m5.xlarge', count: 1 },
        { role: NodeRole.LOGIN, instanceType: 'ml.m5.xlarge', count: 1 },
      ],
    });
    expect(byName(quotas, 'ml.m5.xlarge for cluster usage')).toMatchObject({ required: 2, basis: '1 controller + 1 login' });
    expect(quotas.filter((q) => q.quotaName.endsWith('for cluster usage'))).toHaveLength(2);
  });

  test('without file system, endpoints or NAT only the nodes take network interfaces', () => {
    const quotas = requiredQuotas({ ...SWALLOW_SHAPE, fileSystem: false, interfaceEndpoints: 0, natGateway: false });
    expect(byName(quotas, NETWORK_INTERFACES_QUOTA).required).toBe(32 * 32 + 2);
  });

  test('EBS volumes default to 500 GiB on accelerated and 100 GiB on CPU nodes; the largest sets the quota', () => {
    expect(totalEbsGiB(SWALLOW_SHAPE)).toBe(32 * 500 + 2 * 100);
    const cpuHeavy: DeploymentShape = { groups: [
      { role: NodeRole.COMPUTE, instanceType: 'ml.g5.2xlarge', count: 1, ebsVolumeGiB: 200 },
      { role: NodeRole.CONTROLLER, instanceType: 'ml.m5.xlarge', count: 1, ebsVolumeGiB: 2000 },
    ] };
    expect(byName(requiredQuotas(cpuHeavy), EBS_VOLUME_SIZE_QUOTA)).toMatchObject({ required: 2000, basis: expect.stringContaining('controller') });
  });

  test('matches the addresses TrainingNetwork reserves in the compute subnet, plus the NAT gateway', () => {
    const network = new TrainingNetwork(testStack(), 'Network', {
      plannedNodes: SWALLOW_SHAPE.groups.map((g) => ({ instanceType: g.instanceType, count: g.count })),
      interfaceEndpoints: true,
    });
    expect(byName(requiredQuotas(SWALLOW_SHAPE), NETWORK_INTERFACES_QUOTA).required).toBe(network.requiredAddresses + 1);
    expect(CLUSTER_INTERFACE_ENDPOINT_COUNT).toBe(Object.keys(CLUSTER_INTERFACE_ENDPOINTS).length);
  });

  test.each([
    ['an unknown type', { groups: [{ role: NodeRole.COMPUTE, instanceType: 'ml.p9.48xlarge', count: 1 }] }, /groups\[0\]\.instanceType must be a HyperPod instance type: one of .*ml\.p5\.48xlarge.*, got 'ml\.p9\.48xlarge'/],
    ['zero nodes', { groups: [{ role: NodeRole.COMPUTE, instanceType: 'ml.p5.48xlarge', count: 0 }] }, /groups\[0\]\.count must be a positive integer, got 0/],
    ['an EBS volume over 16 TiB', { groups: [{ role: NodeRole.COMPUTE, instanceType: 'ml.p5.48xlarge', count: 1, ebsVolumeGiB: 20000 }] }, /ebsVolumeGiB must be an integer from 1 to 16384 GiB, got 20000/],
    ['no compute group', { groups: [{ role: NodeRole.CONTROLLER, instanceType: 'ml.m5.xlarge', count: 1 }] }, /groups needs at least one compute group/],
    ['a negative endpoint count', { ...SWALLOW_SHAPE, interfaceEndpoints: -1 }, /interfaceEndpoints must be an integer >= 0, got -1/],
  ] as Array<[string, DeploymentShape, RegExp]>)('refuses %s', (_label, shape, message) => {
    expect(() => requiredQuotas(shape)).toThrow(PlannerInputError);
    expect(() => requiredQuotas(shape)).toThrow(message);
  });
});

describe('quota codes', () => {
  test('every confirmed code has the Service Quotas form', () => {
    for (const code of Object.values(CONFIRMED_QUOTA_CODES)) expect(code).toMatch(/^L-[0-9A-F]{8}$/);
    expect(new Set(Object.values(CONFIRMED_QUOTA_CODES)).size).toBe(Object.keys(CONFIRMED_QUOTA_CODES).length);
  });

  test('every HyperPod instance type gets its quota, with a code or looked up by name', () => {
    for (const type of HYPERPOD_INSTANCE_TYPES) {
      const [quota] = requiredQuotas({ groups: [{ role: NodeRole.COMPUTE, instanceType: type.name, count: 1 }] });
      expect(quota).toMatchObject({ serviceCode: QuotaServiceCode.SAGEMAKER, quotaName: clusterUsageQuotaName(type.name) });
      expect(quota.quotaCode).toBe(CONFIRMED_QUOTA_CODES[quota.quotaName]);
    }
  });

  test('the reference profiles need no name lookups', async () => {
    for (const profile of PROFILES) {
      const quotas = await quotasFor('--profile', profile.name);
      expect(quotas.filter((q) => q.quotaCode === null)).toEqual([]);
    }
  });
});
