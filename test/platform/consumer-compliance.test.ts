// The README's "Compliance in your app" recipe, as a consumer runs it: the package's constructs composed in a stack
// of their own, with cdk-nag and the plain CfnGuardValidator (not the reference app's scoped one) as validation
// plugins. The validator is not a dependency of the package: this is the documented way to add it.
import * as fs from 'fs';
import * as path from 'path';
import { Stack, Validations } from 'aws-cdk-lib';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { AwsSolutionsChecks } from 'cdk-nag';
import { DataRepositoryEvent, HyperPodCluster, LustreStorage, TrainingNetwork, TrainingObservability } from '../../lib';
import { disabledGuardRuleFiles } from '../../lib/platform/policy-validation';
import { testApp } from '../util';

const ROOT = path.join(__dirname, '..', '..');
const README = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const PACKAGE = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));

/** The disabledRules of the README's recipe. */
function documentedDisabledRules(): string[] {
  const section = README.slice(README.indexOf('### Compliance in your app'));
  const list = /disabledRules: \[([^\]]*)\]/.exec(section)![1];
  return [...list.matchAll(/'([^']+)'/g)].map((m) => m[1]);
}

describe('compliance in a consumer app', () => {
  test('the README disables exactly the controls the reference app disables, with their reasons', () => {
    expect(documentedDisabledRules().sort()).toEqual(disabledGuardRuleFiles().sort());
  });

  test('the package does not depend on the cfn-guard validator; cdk-nag is a peer', () => {
    const runtime = { ...PACKAGE.dependencies, ...PACKAGE.peerDependencies, ...PACKAGE.optionalDependencies };
    expect(Object.keys(runtime)).not.toContain('@cdklabs/cdk-validator-cfnguard');
    expect(Object.keys(PACKAGE.peerDependencies)).toContain('cdk-nag');
  });

  test('the README\'s composition passes AwsSolutions and every Control Tower control but the disabled ones', () => {
    const app = testApp();
    const stack = new Stack(app, 'Team', { env: { account: '111122223333', region: 'us-east-1' } });
    const network = new TrainingNetwork(stack, 'Network', {
      plannedNodes: [{ instanceType: 'ml.m5.12xlarge', count: 1 }, { instanceType: 'ml.p5.48xlarge', count: 4 }],
      availabilityZoneId: 'use1-az6',
    });
    const storage = new LustreStorage(stack, 'Storage', { network, storageCapacityGiB: 2400 });
    storage.addDataRepository({ fileSystemPath: '/datasets', bucket: storage.datasetsBucket });
    storage.addDataRepository({
      fileSystemPath: '/checkpoints', bucket: storage.checkpointsBucket,
      autoExportEvents: [DataRepositoryEvent.NEW, DataRepositoryEvent.CHANGED],
    });
    const observability = new TrainingObservability(stack, 'Observability', { alertEmails: ['oncall@example.com'] });
    observability.monitorStorage(storage);
    new HyperPodCluster(stack, 'Cluster', {
      network, storage, observability,
      controllerGroup: { instanceType: 'ml.m5.12xlarge' },
      computeGroups: [{ name: 'gpu', instanceType: 'ml.p5.48xlarge', count: 4 }],
    });
    Validations.of(app).addPlugins(
      new AwsSolutionsChecks(app),
      new CfnGuardValidator({ disabledRules: documentedDisabledRules() }),
    );
    // A finding of either plugin throws here, naming the rule and the construct.
    expect(() => app.synth()).not.toThrow();
  }, 120_000);
});
