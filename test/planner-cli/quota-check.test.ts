import {
  QuotaClient, QuotaExitCode, QuotaStatus, runQuotasCommand, serviceQuotasClient,
} from '../../lib/planner-cli/quota-check';

// The Service Quotas SDK, replaced: no test calls AWS. `mockSdkLoads` counts how often the module is loaded.
let mockSdkLoads = 0;
const mockSend = jest.fn();
const mockClientConfigs: unknown[] = [];
jest.mock('@aws-sdk/client-service-quotas', () => {
  mockSdkLoads++;
  class Command { constructor(public readonly input: Record<string, unknown>) {} }
  return {
    ServiceQuotasClient: class {
      constructor(config: unknown) { mockClientConfigs.push(config); }
      send(command: Command) { return mockSend(command.constructor.name, command.input); }
    },
    GetServiceQuotaCommand: class GetServiceQuotaCommand extends Command {},
    GetAWSDefaultServiceQuotaCommand: class GetAWSDefaultServiceQuotaCommand extends Command {},
    ListServiceQuotasCommand: class ListServiceQuotasCommand extends Command {},
    ListAWSDefaultServiceQuotasCommand: class ListAWSDefaultServiceQuotasCommand extends Command {},
  };
});

/** The swallow-70b quotas an account already has in full. */
const ENOUGH_FOR_SWALLOW: Record<string, number> = {
  'L-8762A75F': 32, 'L-E2A0AC0F': 1, 'L-24520F3F': 2, 'L-2CE978FC': 40, 'L-3308CCC7': 40, 'L-E13DF72A': 1024,
  'L-DF5E4CA3': 5000,
};

/** A client answering from a table keyed by quota code or name. */
function stubClient(values: Record<string, number>, codes: Record<string, string> = {}): QuotaClient & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    getQuotaValue: async (serviceCode, key) => { calls.push(`${serviceCode}/${key}`); return values[key]; },
    findQuotaCode: async (_serviceCode, name) => codes[name],
  };
}

async function run(argv: string[], client?: QuotaClient) {
  let stdout = '';
  let stderr = '';
  const code = await runQuotasCommand(argv, { stdout: (t) => { stdout += t; }, stderr: (t) => { stderr += t; } }, client);
  return { code, stdout, stderr };
}

const SWALLOW_CHECK = ['--profile', 'swallow-70b', '--check', '--region', 'us-east-1'];

describe('the Service Quotas SDK', () => {
  test('is not loaded by the library, listing, or checking with an injected client', async () => {
    await import('../../lib/planner');
    await run(['--profile', 'swallow-70b']);
    await run(SWALLOW_CHECK, stubClient(ENOUGH_FOR_SWALLOW));
    expect(mockSdkLoads).toBe(0);
  });
});

describe('--check with a stubbed client', () => {
  test('enough everywhere: exit 0, nothing to request', async () => {
    const client = stubClient(ENOUGH_FOR_SWALLOW);
    const { code, stdout, stderr } = await run(SWALLOW_CHECK, client);
    expect({ code, stderr }).toEqual({ code: QuotaExitCode.OK, stderr: '' });
    expect(stdout).toMatch(/^Service quotas for swallow-70b in us-east-1/);
    expect(stdout).toContain('Nothing to request');
    expect(stdout).not.toContain('request-service-quota-increase');
    expect(stdout).toMatch(/ml\.p5\.48xlarge for cluster usage +L-8762A75F +32 +32 +enough/);
    expect(client.calls).toEqual(['sagemaker/L-8762A75F', 'sagemaker/L-E2A0AC0F', 'sagemaker/L-24520F3F',
      'sagemaker/L-2CE978FC', 'sagemaker/L-3308CCC7', 'sagemaker/L-E13DF72A', 'vpc/L-DF5E4CA3']);
  });

  test('too low: exit 1, a table of requests and the aws CLI lines', async () => {
    const { code, stdout } = await run(SWALLOW_CHECK,
      stubClient({ ...ENOUGH_FOR_SWALLOW, 'L-8762A75F': 2, 'L-2CE978FC': 20, 'L-DF5E4CA3': 1000 }));
    expect(code).toBe(QuotaExitCode.ACTION_NEEDED);
    expect(stdout).toContain('To request (3):');
    expect(stdout).toMatch(/ml\.p5\.48xlarge for cluster usage +32 +2 +32\n/);
    expect(stdout).toMatch(/Network interfaces per Region +1,055 +1,000 +1,055\n/);
    const lines = stdout.split('\n').filter((l) => l.includes('request-service-quota-increase')).map((l) => l.trim());
    expect(lines).toEqual([
      'aws service-quotas request-service-quota-increase --region us-east-1 --service-code sagemaker --quota-code L-8762A75F --desired-value 32',
      'aws service-quotas request-service-quota-increase --region us-east-1 --service-code sagemaker --quota-code L-2CE978FC --desired-value 34',
      'aws service-quotas request-service-quota-increase --region us-east-1 --service-code vpc --quota-code L-DF5E4CA3 --desired-value 1055',
    ]);
    expect(stdout).not.toContain('Nothing to request');
  });

  test('a quota the client cannot find is unknown, not enough: exit 1', async () => {
    const withoutLogin = { ...ENOUGH_FOR_SWALLOW };
    delete withoutLogin['L-24520F3F'];
    const { code, stdout } = await run(SWALLOW_CHECK, stubClient(withoutLogin));
    expect(code).toBe(QuotaExitCode.ACTION_NEEDED);
    expect(stdout).toMatch(/ml\.m5\.4xlarge for cluster usage +L-24520F3F +1 +- +unknown: not found/);
    expect(stdout).toContain('Unknown (1)');
    expect(stdout).not.toContain('Nothing to request');
    expect(stdout).not.toContain('request-service-quota-increase');
  });

  test('a code the client does not know is retried by name', async () => {
    const client = stubClient({ ...ENOUGH_FOR_SWALLOW, 'L-8762A75F': undefined as unknown as number,
      'ml.p5.48xlarge for cluster usage': 64 });
    const { code } = await run(SWALLOW_CHECK, client);
    expect(code).toBe(QuotaExitCode.OK);
    expect(client.calls.slice(0, 2)).toEqual(['sagemaker/L-8762A75F', 'sagemaker/ml.p5.48xlarge for cluster usage']);
    // Found by name, the quota's code is the one AWS lists (or none), not the one that failed.
    const renamed = stubClient({ ...ENOUGH_FOR_SWALLOW, 'L-8762A75F': undefined as unknown as number,
      'ml.p5.48xlarge for cluster usage': 2 }, { 'ml.p5.48xlarge for cluster usage': 'L-1234ABCD' });
    const out = JSON.parse((await run([...SWALLOW_CHECK, '--json'], renamed)).stdout);
    expect(out.quotas[0]).toMatchObject({ quotaCode: 'L-1234ABCD', status: 'request', command: expect.stringContaining('--quota-code L-1234ABCD ') });
  });

  test('a quota without a confirmed code is read by name; its request uses the code AWS lists', async () => {
    const name = 'ml.p5e.48xlarge for cluster usage';
    const argv = ['--instance', 'ml.p5e.48xlarge', '--nodes', '8', '--check', '--region', 'us-west-2', '--json'];
    const values = { [name]: 1, 'L-E2A0AC0F': 1, 'L-2CE978FC': 20, 'L-3308CCC7': 20, 'L-E13DF72A': 1024, 'L-DF5E4CA3': 5000 };
    const found = JSON.parse((await run(argv, stubClient(values, { [name]: 'L-0000ABCD' }))).stdout);
    expect(found.quotas[0]).toMatchObject({
      quotaName: name, quotaCode: 'L-0000ABCD', required: 8, current: 1, status: QuotaStatus.REQUEST, requestTo: 8,
      command: 'aws service-quotas request-service-quota-increase --region us-west-2 --service-code sagemaker --quota-code L-0000ABCD --desired-value 8',
    });
    // Without a code from the client, the command looks the code up itself.
    const unnamed = JSON.parse((await run(argv, stubClient(values))).stdout);
    expect(unnamed.quotas[0].quotaCode).toBeNull();
    expect(unnamed.quotas[0].command).toBe('aws service-quotas request-service-quota-increase --region us-west-2 '
      + '--service-code sagemaker --quota-code "$(aws service-quotas list-aws-default-service-quotas --region us-west-2 '
      + `--service-code sagemaker --query "Quotas[?QuotaName=='${name}'].QuotaCode" --output text)" --desired-value 8`);
  });

  test('--json reports each quota with its status', async () => {
    const { code, stdout } = await run([...SWALLOW_CHECK, '--json'], stubClient({ ...ENOUGH_FOR_SWALLOW, 'L-3308CCC7': 30 }));
    expect(code).toBe(QuotaExitCode.ACTION_NEEDED);
    const out = JSON.parse(stdout);
    expect(out).toMatchObject({ region: 'us-east-1', nothingToRequest: false, deployment: { name: 'swallow-70b' } });
    expect(out.quotas.map((q: { status: string }) => q.status)).toEqual(
      ['enough', 'enough', 'enough', 'enough', 'request', 'enough', 'enough']);
    expect(out.quotas[4]).toMatchObject({ quotaCode: 'L-3308CCC7', required: 34, current: 30, requestTo: 34 });
    expect(out.quotas[0]).toMatchObject({ current: 32, requestTo: null, command: null });
  });

  test('the Region may come from AWS_REGION or AWS_DEFAULT_REGION', async () => {
    const saved = { AWS_REGION: process.env.AWS_REGION, AWS_DEFAULT_REGION: process.env.AWS_DEFAULT_REGION };
    try {
      delete process.env.AWS_REGION;
      process.env.AWS_DEFAULT_REGION = 'eu-west-1';
      const argv = ['--profile', 'smoke', '--check', '--json'];
      expect(JSON.parse((await run(argv, stubClient({}))).stdout).region).toBe('eu-west-1');
      process.env.AWS_REGION = 'ap-northeast-1';
      expect(JSON.parse((await run(argv, stubClient({}))).stdout).region).toBe('ap-northeast-1');
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k]; else process.env[k] = v;
      }
    }
  });
});

describe('several instance groups', () => {
  // Two p5 compute groups, a g5 one, and a login group of the controller's type: per-type quotas add up by type.
  const GROUPS = ['--instance', 'ml.p5.48xlarge', '--nodes', '16', '--instance-group', 'ml.p5.48xlarge:8',
    '--instance-group', 'ml.g5.12xlarge:2', '--controller', 'ml.m5.12xlarge', '--login', 'ml.m5.12xlarge:2'];
  const required = (out: { quotas: Array<{ quotaName: string; required: number }> }) =>
    Object.fromEntries(out.quotas.map((q) => [q.quotaName, q.required]));

  test('sum each quota over every group, controller and login included', async () => {
    const { code, stdout } = await run([...GROUPS, '--json']);
    expect(code).toBe(QuotaExitCode.OK);
    const out = JSON.parse(stdout);
    expect(out.deployment.groups.map((g: { role: string; count: number }) => `${g.count} ${g.role}`))
      .toEqual(['16 compute', '8 compute', '2 compute', '1 controller', '2 login']);
    expect(required(out)).toEqual({
      'ml.p5.48xlarge for cluster usage': 24,
      'ml.g5.12xlarge for cluster usage': 2,
      'ml.m5.12xlarge for cluster usage': 3,
      'Maximum number instances allowed per SageMaker HyperPod cluster': 29,
      'Total number of instances allowed across SageMaker HyperPod clusters': 29,
      'Maximum size of EBS volume in GB for a SageMaker HyperPod cluster instance': 500,
      // 24 p5 x 32 EFA cards, 2 g5.12xlarge x 1, 3 CPU nodes, 16 for FSx for Lustre, 1 NAT gateway.
      'Network interfaces per Region': 24 * 32 + 2 + 3 + 16 + 1,
    });
    expect(out.quotas[0].basis).toBe('16 compute + 8 compute');
    expect(out.quotas[2].basis).toBe('1 controller + 2 login');
  });

  test('--instance --nodes alone is the same one-group shape as one --instance-group', async () => {
    const single = JSON.parse((await run(['--instance', 'ml.p5.48xlarge', '--nodes', '4', '--json'])).stdout);
    const group = JSON.parse((await run(['--instance-group', 'ml.p5.48xlarge:4', '--json'])).stdout);
    expect(group.quotas).toEqual(single.quotas);
    expect(single.deployment.name).toBe('4 x ml.p5.48xlarge');
  });

  test('--check compares the sums: 20 p5 for 16 + 8 nodes is a request for 24', async () => {
    const enough = { ...ENOUGH_FOR_SWALLOW, 'L-24E5A1B2': 2, 'L-E2A0AC0F': 3 };
    const low = await run([...GROUPS, '--check', '--region', 'us-east-1', '--json'],
      stubClient({ ...enough, 'L-8762A75F': 20 }));
    expect(low.code).toBe(QuotaExitCode.ACTION_NEEDED);
    expect(JSON.parse(low.stdout).quotas.filter((q: { status: string }) => q.status === QuotaStatus.REQUEST))
      .toEqual([expect.objectContaining({ quotaCode: 'L-8762A75F', required: 24, current: 20, requestTo: 24 })]);
    const exact = await run([...GROUPS, '--check', '--region', 'us-east-1'], stubClient({ ...enough, 'L-8762A75F': 24 }));
    expect(exact.code).toBe(QuotaExitCode.OK);
    expect(exact.stdout).toContain('Nothing to request');
  });

  test('the --check hint repeats the shape: its flags give the same quotas', async () => {
    const listed = await run(GROUPS);
    expect(listed.stdout).toMatch(/^Service quotas for 16 x ml\.p5\.48xlarge \+ 8 x ml\.p5\.48xlarge \+ 2 x ml\.g5\.12xlarge\n/);
    const hint = /cdk-hyperpod-plan quotas (.*) --check --region REGION$/m.exec(listed.stdout)?.[1];
    expect(hint).toBeDefined();
    const again = JSON.parse((await run([...hint!.split(' '), '--json'])).stdout);
    expect(again.quotas).toEqual(JSON.parse((await run([...GROUPS, '--json'])).stdout).quotas);
  });
});

describe('without AWS credentials', () => {
  const noCredentials = () => Object.assign(new Error('Could not load credentials from any providers'),
    { name: 'CredentialsProviderError' });

  test('an injected client that cannot find credentials: a clear message, exit 3', async () => {
    const client: QuotaClient = { getQuotaValue: async () => { throw noCredentials(); } };
    const { code, stdout, stderr } = await run(SWALLOW_CHECK, client);
    expect(code).toBe(QuotaExitCode.NO_CREDENTIALS);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^error: --check needs AWS credentials, and none were found/);
    expect(stderr).toContain('drop --check');
  });

  test('listing the quotas needs no credentials', async () => {
    const client: QuotaClient = { getQuotaValue: async () => { throw noCredentials(); } };
    expect((await run(['--profile', 'swallow-70b'], client)).code).toBe(QuotaExitCode.OK);
  });

  test('rejected credentials and missing permissions also exit 3', async () => {
    const failing = (name: string): QuotaClient => ({
      getQuotaValue: async () => { throw Object.assign(new Error('nope'), { name }); },
    });
    const expired = await run(SWALLOW_CHECK, failing('ExpiredTokenException'));
    expect(expired).toMatchObject({ code: QuotaExitCode.NO_CREDENTIALS, stderr: expect.stringContaining('rejected the credentials') });
    const denied = await run(SWALLOW_CHECK, failing('AccessDeniedException'));
    expect(denied).toMatchObject({ code: QuotaExitCode.NO_CREDENTIALS, stderr: expect.stringContaining('servicequotas:GetServiceQuota') });
    const other = await run(SWALLOW_CHECK, failing('ThrottlingException'));
    expect(other).toMatchObject({ code: 1, stderr: 'error: reading service quotas failed: ThrottlingException: nope\n' });
  });
});

describe('invalid input: exit 2 with the allowed values', () => {
  const saved = { AWS_REGION: process.env.AWS_REGION, AWS_DEFAULT_REGION: process.env.AWS_DEFAULT_REGION };
  beforeEach(() => { delete process.env.AWS_REGION; delete process.env.AWS_DEFAULT_REGION; });
  afterAll(() => {
    for (const [k, v] of Object.entries(saved)) if (v !== undefined) process.env[k] = v;
  });

  test.each([
    [['--profile', 'huge'], /profile must be one of swallow-70b, smoke, got 'huge'/],
    [[], /profile or a compute group is required: --profile one of swallow-70b, smoke, or --instance TYPE --nodes N and\/or --instance-group TYPE:COUNT/],
    [['--instance', 'ml.p5.48xlarge'], /instance needs both --instance TYPE --nodes N/],
    [['--nodes', '4', '--instance-group', 'ml.p5.48xlarge:4'], /nodes needs both --instance TYPE --nodes N/],
    [['--instance', 'ml.p5.48xlarg', '--nodes', '2'], /got 'ml\.p5\.48xlarg' \(did you mean 'ml\.p5\.48xlarge'\?\)/],
    [['--instance', 'ml.p5.48xlarge', '--nodes', '-2'], /nodes must be a positive integer, got '-2'/],
    [['--instance-group', 'ml.p5.48xlarge'], /instance-group must be TYPE:COUNT, e\.g\. ml\.p5\.48xlarge:16, got 'ml\.p5\.48xlarge'/],
    [['--instance-group', 'ml.p5.48xlarge:4:2'], /instance-group must be TYPE:COUNT, .*got 'ml\.p5\.48xlarge:4:2'/],
    [['--instance-group', 'ml.p5.48xlarge:-4'], /instance-group count must be a positive integer, got '-4' in 'ml\.p5\.48xlarge:-4'/],
    [['--instance-group', 'ml.p5.48xlarge:two'], /instance-group count must be a positive integer, got 'two'/],
    [['--instance-group', 'p5e.48xlarg:2'], /instance-group must be a HyperPod instance type: .*got 'p5e\.48xlarg' \(did you mean 'ml\.p5e\.48xlarge'\?\)/],
    [['--instance-group', 'ml.p5.48xlarge:2', '--login', 'ml.m5.4xlarge:0'], /login count must be a positive integer, got '0'/],
    [['--profile', 'smoke', '--instance-group', 'ml.p5.48xlarge:2'], /profile takes no --instance-group: give either --profile or/],
    [['--profile', 'smoke', '--instance-groups', 'ml.p5.48xlarge:2'], /Unknown option '--instance-groups' \(did you mean '--instance-group'\?\)/],
    [['--instance', 'ml.p9.48xlarge', '--nodes', '2'], /instance must be a HyperPod instance type: one of .*ml\.p5\.48xlarge.*got 'ml\.p9\.48xlarge'/],
    [['--instance', 'ml.p5.48xlarge', '--nodes', '0'], /nodes must be a positive integer, got '0'/],
    [['--instance', 'ml.p5.48xlarge', '--nodes', '2', '--controller', 'm9.huge'], /controller must be a HyperPod instance type/],
    [['--profile', 'smoke', '--instance', 'ml.p5.48xlarge'], /profile takes no --instance: give either --profile or --instance/],
    [['--profile', 'smoke', '--ebs-gib', '20000'], /ebs-gib must be an integer from 1 to 16384, got '20000'/],
    [['--profile', 'smoke', '--nodes'], /nodes/],
    [['--profile', 'smoke', '--size', '3'], /Unknown option '--size'/],
    [['--profile', 'smoke', '--check'], /region is required with --check: --region REGION, or AWS_REGION/],
    [['--profile', 'smoke', '--check', '--region', 'mars'], /region must be an AWS Region such as us-east-1, got 'mars'/],
  ])('%j', async (argv, message) => {
    const client = stubClient(ENOUGH_FOR_SWALLOW);
    const { code, stdout, stderr } = await run(argv as string[], client);
    expect(code).toBe(QuotaExitCode.BAD_INPUT);
    expect(stdout).toBe('');
    expect(stderr).toMatch(message);
    expect(stderr).toContain('(see: cdk-hyperpod-plan quotas --help)');
    expect(client.calls).toEqual([]);
  });

  test('--help lists the options and exit codes', async () => {
    const { code, stdout } = await run(['--help']);
    expect(code).toBe(QuotaExitCode.OK);
    expect(stdout).toContain('--profile NAME           swallow-70b, smoke');
    expect(stdout).toMatch(/Exit codes: 0 .* 3 no usable AWS credentials/s);
  });
});

describe('the default client (Service Quotas SDK, mocked)', () => {
  beforeEach(() => { mockSend.mockReset(); });

  const noSuchResource = () => Object.assign(new Error('no value'), { name: 'NoSuchResourceException' });

  test('reads the applied value, and the AWS default when none is applied', async () => {
    mockSend.mockImplementation(async (command: string, input: { QuotaCode: string }) => {
      if (command === 'GetServiceQuotaCommand') {
        if (input.QuotaCode === 'L-8762A75F') return { Quota: { QuotaCode: 'L-8762A75F', Value: 4 } };
        throw noSuchResource();
      }
      if (command === 'GetAWSDefaultServiceQuotaCommand') {
        if (input.QuotaCode === 'L-DF5E4CA3') return { Quota: { Value: 5000 } };
        throw noSuchResource();
      }
      throw new Error(`unexpected ${command}`);
    });
    const client = serviceQuotasClient('us-east-1');
    expect(await client.getQuotaValue('sagemaker', 'L-8762A75F')).toBe(4);
    expect(await client.getQuotaValue('vpc', 'L-DF5E4CA3')).toBe(5000);
    expect(await client.getQuotaValue('sagemaker', 'L-00000000')).toBeUndefined();
    expect(mockClientConfigs).toContainEqual({ region: 'us-east-1' });
    expect(mockSdkLoads).toBe(1);
  });

  test('finds a quota by name across pages, applied values first, and gives its code', async () => {
    mockSend.mockImplementation(async (command: string, input: { NextToken?: string }) => {
      if (command === 'ListServiceQuotasCommand') {
        return input.NextToken ? { Quotas: [{ QuotaName: 'ml.p5e.48xlarge for cluster usage', QuotaCode: 'L-AAAA0001', Value: 2 }] }
          : { Quotas: [{ QuotaName: 'other', QuotaCode: 'L-AAAA0002', Value: 1 }], NextToken: 'page2' };
      }
      if (command === 'ListAWSDefaultServiceQuotasCommand') {
        return { Quotas: [{ QuotaName: 'ml.p5e.48xlarge for cluster usage', QuotaCode: 'L-AAAA0001', Value: 0 },
          { QuotaName: 'ml.trn2.48xlarge for cluster usage', QuotaCode: 'L-AAAA0003', Value: 0 }] };
      }
      throw new Error(`unexpected ${command}`);
    });
    const client = serviceQuotasClient('us-west-2');
    expect(await client.getQuotaValue('sagemaker', 'ml.p5e.48xlarge for cluster usage')).toBe(2);
    expect(await client.getQuotaValue('sagemaker', 'ml.trn2.48xlarge for cluster usage')).toBe(0);
    expect(await client.getQuotaValue('sagemaker', 'ml.p9.48xlarge for cluster usage')).toBeUndefined();
    expect(await client.findQuotaCode?.('sagemaker', 'ml.p5e.48xlarge for cluster usage')).toBe('L-AAAA0001');
    // Each list is read once per service.
    expect(mockSend.mock.calls.map(([command]) => command)).toEqual(
      ['ListServiceQuotasCommand', 'ListServiceQuotasCommand', 'ListAWSDefaultServiceQuotasCommand']);
  });

  test('no credentials from the default chain: exit 3 with the clear message', async () => {
    mockSend.mockRejectedValue(Object.assign(new Error('Could not load credentials from any providers'),
      { name: 'CredentialsProviderError' }));
    const { code, stderr } = await run(SWALLOW_CHECK);
    expect(code).toBe(QuotaExitCode.NO_CREDENTIALS);
    expect(stderr).toMatch(/--check needs AWS credentials, and none were found/);
  });
});
