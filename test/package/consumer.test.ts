// The package as users get it: `npm pack`, install the tarball into a fresh CDK app outside the repository,
// type-check that app against the shipped declarations, and synthesize it using the public API only.
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.join(__dirname, '..', '..');
const rootPackage = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));

const CONSUMER_APP = `
import { App, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { HyperPodCluster, LustreStorage, TrainingNetwork, TrainingObservability } from 'cdk-hyperpod-training';

const app = new App();
const stack = new Stack(app, 'Consumer');
const vpc = ec2.Vpc.fromVpcAttributes(stack, 'Vpc', { vpcId: 'vpc-0123456789abcdef0', availabilityZones: ['us-east-1a'] });
const network = new TrainingNetwork(stack, 'Network', {
  vpc,
  computeSubnetCidr: '10.1.0.0/21',
  availabilityZoneId: 'use1-az6',
  plannedNodes: [{ instanceType: 'ml.m5.xlarge', count: 1 }, { instanceType: 'ml.p5.48xlarge', count: 6 }],
});
const storage = new LustreStorage(stack, 'Storage', { network, storageCapacityGiB: 2400 });
storage.addDataRepository({ fileSystemPath: '/datasets', bucket: storage.datasetsBucket });
const observability = new TrainingObservability(stack, 'Observability', { grafana: false });
new HyperPodCluster(stack, 'Cluster', {
  network, storage, observability,
  controllerGroup: { instanceType: 'ml.m5.xlarge' },
  computeGroups: [
    { name: 'train', instanceType: 'ml.p5.48xlarge', count: 4 },
    { name: 'eval', instanceType: 'ml.p5.48xlarge', count: 2 },
  ],
});
app.synth();
`;

// A platform team's app: a concrete account and region, the network team's VPC and subnet, a checkpoints bucket
// with its own KMS key, the data team's imported bucket, and AwsSolutions as a validation plugin (a finding fails the synth). Public API only: no
// construct ids of the library's internals.
const TEAM_APP = `
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { HyperPodCluster, LustreStorage, TrainingNetwork, TrainingObservability } from 'cdk-hyperpod-training';

const app = new App();
const stack = new Stack(app, 'Team', { env: { account: '111122223333', region: 'us-east-1' } });
const vpc = ec2.Vpc.fromVpcAttributes(stack, 'Vpc', {
  vpcId: 'vpc-0123456789abcdef0', availabilityZones: ['us-east-1a'], vpcCidrBlock: '10.1.0.0/16',
  privateSubnetIds: ['subnet-0123456789abcdef0'], privateSubnetRouteTableIds: ['rtb-0123456789abcdef0'],
  privateSubnetIpv4CidrBlocks: ['10.1.0.0/20'],
});
const network = new TrainingNetwork(stack, 'Network', {
  vpc,
  computeSubnet: vpc.privateSubnets[0],
  availabilityZoneId: 'use1-az6',
  plannedNodes: [{ instanceType: 'ml.m5.xlarge', count: 1 }, { instanceType: 'ml.p4d.24xlarge', count: 16 }],
});
const key = new kms.Key(stack, 'CheckpointsKey', { enableKeyRotation: true });
const logs = new s3.Bucket(stack, 'AccessLogs', {
  encryption: s3.BucketEncryption.S3_MANAGED, enforceSSL: true, blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
});
const checkpoints = new s3.Bucket(stack, 'Checkpoints', {
  encryption: s3.BucketEncryption.KMS, encryptionKey: key, enforceSSL: true, versioned: true,
  blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL, serverAccessLogsBucket: logs,
});
const storage = new LustreStorage(stack, 'Storage', { network, storageCapacityGiB: 2400, checkpointsBucket: checkpoints });
storage.addDataRepository({ fileSystemPath: '/checkpoints', bucket: checkpoints });
// The data team's corpus bucket, imported by name: its data repository's grants are acknowledged too.
const corpora = s3.Bucket.fromBucketName(stack, 'Corpora', 'team-corpora-111122223333');
storage.addDataRepository({ fileSystemPath: '/corpora', bucket: corpora, prefix: 'tokenized/' });
const observability = new TrainingObservability(stack, 'Observability', { grafana: false });
new HyperPodCluster(stack, 'Cluster', {
  network, storage, observability,
  controllerGroup: { instanceType: 'ml.m5.xlarge' },
  computeGroups: [{ name: 'train', instanceType: 'ml.p4d.24xlarge', count: 16 }],
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
`;

function run(cmd: string, args: string[], cwd: string): string {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CDK_VALIDATION: 'false' } });
}

describe('the packed library in a fresh app', () => {
  let work: string;
  let tarball: string;
  let files: string[];

  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-hyperpod-consumer-'));
    const packed = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', work], ROOT));
    tarball = path.join(work, packed[0].filename);
    files = packed[0].files.map((f: { path: string }) => f.path);
  }, 240_000);

  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  test('contains the compiled library, declarations, scripts, rules, dashboards, CLI, README and LICENSE', () => {
    for (const file of ['dist/lib/index.js', 'dist/lib/index.d.ts', 'dist/lib/cluster/lifecycle/on_init_complete.sh',
      'dist/lib/observability/rules/training-alerts.yaml', 'dist/lib/observability/dashboards/training-overview.json',
      'dist/lib/observability/grafana-provisioner/index.js', 'dist/lib/planner-cli/cli-main.js', 'dist/lib/planner-cli/cli-output.schema.json', 'dist/lib/training/image/Dockerfile', 'README.md', 'LICENSE']) {
      expect(files).toContain(file);
    }
  });

  test('contains no tests, TypeScript sources or development files', () => {
    expect(files.filter((f) => /^test\/|\.test\.|^bench\/|^bin\/|(?<!\.d)\.ts$|^cdk\.json$|^tsconfig|^\.ci\/|^docs\/tools\//.test(f))).toEqual([]);
    // The reference app's policy validation needs a development dependency; the library never loads it.
    expect(files.filter((f) => f.includes('policy-validation'))).toEqual([]);
  });

  test('package.json points main, types, exports and bin at files in the tarball', () => {
    expect(files).toContain(rootPackage.main);
    expect(files).toContain(rootPackage.types);
    expect(files).toContain(rootPackage.exports['.'].default.replace(/^\.\//, ''));
    expect(files).toContain(rootPackage.exports['.'].types.replace(/^\.\//, ''));
    for (const bin of Object.values(rootPackage.bin) as string[]) expect(files).toContain(bin);
  });

  /**
   * The app directory with the tarball installed by npm. The peers are the repository's own copies, linked in
   * before the install (npm checks their versions against the tarball's peer ranges, and `npm ls` below fails on a
   * mismatch); copying 200 MB of aws-cdk-lib out of the npm cache cost 18 s of a 40 s test.
   */
  function installedApp(): string {
    const app = path.join(work, 'app');
    fs.mkdirSync(path.join(app, 'node_modules', '@aws-cdk'), { recursive: true });
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({
      name: 'consumer', private: true, dependencies: { 'cdk-hyperpod-training': `file:${tarball}` },
    }));
    for (const peer of Object.keys(rootPackage.peerDependencies)) {
      fs.symlinkSync(path.join(ROOT, 'node_modules', peer), path.join(app, 'node_modules', peer), 'dir');
    }
    run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'], app);
    // Both apps in one tsc program: one load of aws-cdk-lib's declarations.
    fs.writeFileSync(path.join(app, 'app.ts'), CONSUMER_APP);
    fs.writeFileSync(path.join(app, 'team.ts'), TEAM_APP);
    const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    run(process.execPath, [tsc, '--strict', '--target', 'ES2022', '--module', 'commonjs', '--moduleResolution', 'node',
      '--esModuleInterop', '--skipLibCheck', '--types', 'node', '--typeRoots', path.join(ROOT, 'node_modules', '@types'),
      'app.ts', 'team.ts'], app);
    return app;
  }

  describe('installed in a fresh app', () => {
    let app: string;
    beforeAll(() => { app = installedApp(); }, 300_000);

    test('npm resolves the peers the package declares (`npm ls` exits non-zero on a missing or invalid one)', () => {
      const linked = JSON.parse(run('npm', ['ls', '--depth=1', '--json'], app)).dependencies['cdk-hyperpod-training'].dependencies;
      for (const peer of Object.keys(rootPackage.peerDependencies)) expect(linked[peer]?.version).toBe(rootPackage.devDependencies[peer]);
    });

    test('a consumer app type-checks against the declarations and synthesizes through the public API', () => {
      const outdir = path.join(app, 'cdk.out');
      execFileSync(process.execPath, ['app.js'], { cwd: app, env: { ...process.env, CDK_OUTDIR: outdir, CDK_VALIDATION: 'false' } });
      const template = JSON.parse(fs.readFileSync(path.join(outdir, 'Consumer.template.json'), 'utf8'));
      const cluster = Object.values<any>(template.Resources).find((r) => r.Type === 'AWS::SageMaker::Cluster');
      expect(cluster.Properties.InstanceGroups.map((g: any) => g.InstanceGroupName)).toEqual(['controller', 'train', 'eval']);
      expect(Object.values<any>(template.Resources).filter((r) => r.Type === 'AWS::APS::Workspace')).toHaveLength(1);
      const lifecycle = fs.readdirSync(outdir).filter((d) => d.startsWith('asset.'))
        .some((d) => fs.existsSync(path.join(outdir, d, 'on_init_complete.sh')));
      expect(lifecycle).toBe(true);
    }, 120_000);

    test('a platform team\'s app (concrete env, imported network, own KMS bucket) passes AwsSolutions with no internal ids', () => {
      expect(TEAM_APP).not.toMatch(/tryFindChild|findChild|node\.children|DefaultPolicy/);
      const outdir = path.join(app, 'cdk.out.team');
      const result = spawnSync(process.execPath, ['team.js'], { cwd: app, encoding: 'utf8', env: { ...process.env, CDK_OUTDIR: outdir, CDK_VALIDATION: 'false' } });
      expect([result.status, result.stderr]).toEqual([0, '']);
      const template = JSON.parse(fs.readFileSync(path.join(outdir, 'Team.template.json'), 'utf8'));
      const subnets = Object.values<any>(template.Resources).filter((r) => r.Type === 'AWS::EC2::Subnet');
      expect(subnets).toEqual([]);
    }, 120_000);

    test('the CLI runs from the installed package', () => {
      const bin = path.join(app, 'node_modules', '.bin', 'cdk-hyperpod-plan');
      const out = run(bin, ['--help'], work);
      expect(out).toMatch(/estimate|search|plan/);
    }, 60_000);
  });
});
