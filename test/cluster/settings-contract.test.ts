// The contract between HyperPodCluster and its node scripts: every key a lifecycle script, job or tool reads from
// cluster-settings.json is one the construct writes. A key renamed on one side only would otherwise read as
// "absent" on the nodes and quietly switch a feature off.
import * as fs from 'fs';
import * as path from 'path';
import { Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { HyperPodCluster, LustreStorage, TrainingNetwork, TrainingObservability } from '../../lib';
import { settingsOf, testStack } from '../util';

const LIFECYCLE = path.join(__dirname, '..', '..', 'lib', 'cluster', 'lifecycle');

function scripts(dir = LIFECYCLE): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const file = path.join(dir, e.name);
    return e.isDirectory() ? scripts(file) : /\.(csv|md)$/.test(e.name) ? [] : [file];
  });
}

/**
 * The settings keys a script reads, from its code lines (comments dropped): `settings_get KEY` (lib.sh),
 * `setting [-l] KEY` (cluster-selfcheck) and `settings.get("KEY")` in the embedded Python.
 */
function keysRead(file: string): string[] {
  const code = fs.readFileSync(file, 'utf8').split('\n').filter((l) => !/^\s*#/.test(l)).join('\n');
  // `setting` as a command: at the start of a command (line, `$(`, `&&`, `||`, `|`, `;`), not the word in prose.
  const patterns = [/\bsettings_get\s+"?([a-zA-Z][\w.]*)/g, /(?:^|\$\(|&&|\|\||[|;])\s*setting\s+(?:-l\s+)?([a-zA-Z][\w.]*)/gm,
    /\bsettings\.get\("(\w+)"/g];
  // A key built at run time (`instanceGroups.$group`) counts as its fixed part.
  return patterns.flatMap((p) => [...code.matchAll(p)].map((m) => m[1].replace(/\.$/, '')));
}

/** A cluster with everything that puts a key in the settings: storage, observability with job notifications, tracking. */
function fullSettings(): Record<string, any> {
  const stack = testStack();
  const network = new TrainingNetwork(stack, 'Network', { plannedNodes: [{ instanceType: 'ml.p5.48xlarge', count: 2 }] });
  const storage = new LustreStorage(stack, 'Storage', { network, storageCapacityGiB: 2400 });
  storage.addDataRepository({ fileSystemPath: '/datasets', bucket: storage.datasetsBucket });
  const observability = new TrainingObservability(stack, 'Observability', { grafana: false, jobNotifications: {} });
  new HyperPodCluster(stack, 'Cluster', {
    network, storage, observability,
    controllerGroup: { instanceType: 'ml.m5.xlarge' },
    computeGroups: [{ name: 'gpu', instanceType: 'ml.p5.48xlarge', count: 2 }],
    experimentTracking: { secret: secretsmanager.Secret.fromSecretNameV2(stack, 'Wandb', 'wandb-api-key') },
  });
  return settingsOf(stack, Template.fromStack(stack));
}

const has = (settings: Record<string, any>, key: string) =>
  key.split('.').reduce<any>((v, part) => (v !== null && typeof v === 'object' && part in v ? v[part] : undefined), settings) !== undefined;

describe('cluster-settings.json: what the node scripts read', () => {
  const settings = fullSettings();
  const reads = scripts().flatMap((file) => keysRead(file).map((key) => ({ file: path.relative(LIFECYCLE, file), key })));

  test('the scan finds the scripts\' reads', () => {
    const keys = new Set(reads.map((r) => r.key));
    for (const key of ['fsx.mountPath', 'observability', 'jobNotifications', 'clusterName', 'experimentTracking.secretArn']) {
      expect(keys).toContain(key);
    }
  });

  test('every key a script reads is one the construct writes', () => {
    expect(reads.filter((r) => !has(settings, r.key))).toEqual([]);
  });
});
