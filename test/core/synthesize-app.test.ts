import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Stack } from 'aws-cdk-lib';
import {
  ConfigurationError, findModel, HyperPodCluster, HyperPodClusterProps, LustreStorage, LustreStorageProps, PlannerInputError, synthesizeApp,
  TrainingNetwork,
} from '../../lib';

const ROOT = path.join(__dirname, '..', '..');

describe('synthesizeApp: every configuration problem at once, one line each', () => {
  afterEach(() => { process.exitCode = undefined; });

  test('`cdk synth` of an app with three mistakes prints three clean lines, no stack trace, and no template', () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'three-mistakes-'));
    try {
      const app = `${path.join(ROOT, 'node_modules', '.bin', 'tsx')} ${path.join(__dirname, 'fixtures', 'three-mistakes-app.ts')}`;
      const run = spawnSync(path.join(ROOT, 'node_modules', '.bin', 'cdk'), ['synth', '--app', app, '-o', outdir], {
        cwd: ROOT, encoding: 'utf8', env: { ...process.env, CDK_VALIDATION: 'false' },
      });
      expect(run.status).toBe(1);
      const lines = run.stderr.trim().split('\n');
      expect(lines.slice(0, 3)).toEqual([
        "Platform/Network: availabilityZoneId must be an Availability Zone ID such as 'use1-az6', got 'us-east-1a'",
        "Platform/Storage: perUnitThroughputMBps must be a number, got string '250'",
        expect.stringMatching(/^Platform\/Cluster: computeGroups\[0\]\.instanceType must be a HyperPod instance type \(ml\.p4d\.24xlarge, .*\), got 'ml\.p5\.48xlarg' \(did you mean 'ml\.p5\.48xlarge'\?\)$/),
      ]);
      // What remains is the CLI's own one-line verdict.
      expect(lines.slice(3)).toEqual([expect.stringMatching(/Subprocess exited with error 1$/)]);
      expect(run.stderr).not.toMatch(/^\s+at /m);
      expect(fs.readdirSync(outdir).filter((f) => f.endsWith('.template.json'))).toEqual([]);
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  }, 60_000);

  test('a thrown ConfigurationError (a prop the construct cannot do without) is one line too', () => {
    const lines: string[] = [];
    const app = synthesizeApp((a) => { new LustreStorage(new Stack(a, 'S'), 'Storage', {} as LustreStorageProps); }, { report: (l) => lines.push(l) });
    expect(app).toBeUndefined();
    expect(lines).toEqual(['S/Storage: network is required (the TrainingNetwork or TrainingNetwork.fromTrainingNetworkAttributes the file system lives in), got undefined']);
    expect(process.exitCode).toBe(1);
  });

  test('problems recorded before a construct throws are listed with the thrown one', () => {
    const lines: string[] = [];
    synthesizeApp((a) => {
      const stack = new Stack(a, 'S');
      const network = new TrainingNetwork(stack, 'Network', {
        plannedNodes: [{ instanceType: 'ml.p5.48xlarge', count: 2 }], availabilityZoneId: 'us-east-1a',
      });
      new HyperPodCluster(stack, 'Cluster', { network, computeGroups: [] } as unknown as HyperPodClusterProps);
    }, { report: (l) => lines.push(l) });
    expect(lines).toEqual([
      "S/Network: availabilityZoneId must be an Availability Zone ID such as 'use1-az6', got 'us-east-1a'",
      "S/Cluster: controllerGroup is required (the Slurm controller's instance group, e.g. { instanceType: 'ml.m5.xlarge' }), got undefined",
    ]);
  });

  test('an error that is not a configuration error is rethrown, after the problems already recorded', () => {
    const lines: string[] = [];
    expect(() => synthesizeApp((a) => {
      new TrainingNetwork(new Stack(a, 'S'), 'Network', {
        plannedNodes: [{ instanceType: 'ml.p5.48xlarge', count: 2 }], availabilityZoneId: 'us-east-1a',
      });
      throw new Error('a bug');
    }, { report: (l) => lines.push(l) })).toThrow('a bug');
    expect(lines).toEqual(["S/Network: availabilityZoneId must be an Availability Zone ID such as 'use1-az6', got 'us-east-1a'"]);
  });

  test('a valid app is synthesized', () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'valid-app-'));
    try {
      const app = synthesizeApp((a) => {
        new TrainingNetwork(new Stack(a, 'S'), 'Network', { plannedNodes: [{ instanceType: 'ml.g5.2xlarge', count: 2 }] });
      }, { appProps: { outdir }, report: (l) => { throw new Error(l); } });
      expect(app).toBeDefined();
      expect(fs.existsSync(path.join(outdir, 'S.template.json'))).toBe(true);
      expect(process.exitCode).toBeUndefined();
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  });
});

describe('one error type', () => {
  test('a planner input error is a ConfigurationError with its field, message unchanged, and one line under synthesizeApp', () => {
    const error = new PlannerInputError('tp', 'must be a positive integer, got 0');
    expect(error).toBeInstanceOf(ConfigurationError);
    expect([error.name, error.field, error.constructPath, error.message]).toEqual(['PlannerInputError', 'tp', undefined, 'tp must be a positive integer, got 0']);
    const lines: string[] = [];
    synthesizeApp(() => { findModel('llama-9000'); }, { report: (l) => lines.push(l) });
    expect(lines).toEqual([expect.stringMatching(/^model must be one of .*got 'llama-9000'/)]);
    process.exitCode = undefined;
  });

  test('a construct\'s error names its path and field', () => {
    const error = new ConfigurationError(new Stack(undefined, 'S'), 'storageCapacityGiB', 'must be 1200, got 3000');
    expect([error.constructPath, error.field, error.message]).toEqual(['S', 'storageCapacityGiB', 'S: storageCapacityGiB must be 1200, got 3000']);
  });
});
