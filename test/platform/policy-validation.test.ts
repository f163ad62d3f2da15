import * as fs from 'fs';
import * as path from 'path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import {
  CONTROL_TOWER_RULES_DIR, DISABLED_GUARD_RULES, disabledGuardRuleFiles, referenceGuardValidator, resourceTypesNamedBy,
} from '../../lib/platform/policy-validation';
import { testApp } from '../util';

function guardFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? guardFiles(path.join(dir, e.name)) : e.name.endsWith('.guard') ? [path.join(dir, e.name)] : []));
}

/** A stack that breaks two controls: a subnet that assigns public IPs (CT.EC2.PR.11), a bucket without versioning. */
function carelessStack(app: App): Stack {
  const stack = new Stack(app, 'Careless');
  new ec2.CfnSubnet(stack, 'Subnet', { vpcId: 'vpc-0123456789abcdef0', cidrBlock: '10.0.128.0/24', mapPublicIpOnLaunch: true });
  new s3.CfnBucket(stack, 'Bucket');
  return stack;
}

function guardReport(plugin: { validate: CfnGuardValidator['validate'] }): string[] {
  const app = testApp();
  carelessStack(app);
  const assembly = app.synth({ validateOnSynthesis: false });
  const templatePaths = assembly.stacks.map((s) => s.templateFullPath);
  const report = plugin.validate({ templatePaths } as any);
  return report.violations.map((v) => `${v.ruleName} ${v.violatingResources.map((r) => r.resourceLogicalId).join(',')}`).sort();
}

describe('cfn-guard scoped to the resource types in the templates', () => {
  const files = guardFiles(CONTROL_TOWER_RULES_DIR);

  test('the premise: every Control Tower rule selects resources by a type it names in its own file', () => {
    expect(files.length).toBeGreaterThan(200);
    for (const file of files) {
      const text = fs.readFileSync(file, 'utf8');
      expect([file, resourceTypesNamedBy(file).size > 0]).toEqual([file, true]);
      // Every selection from the template's Resources filters on Type (or looks up a resource that a typed
      // selection referenced, by key); none takes resources of every type.
      for (const match of text.matchAll(/Resources(\.\*)?\[([^\]]*)\]/g)) {
        const filter = match[2];
        if (filter.trim() === '*') continue; // `some Resources[*] == "secrets"` reads a property list, not the template
        expect([file, /Type\s*==|keys\s*==/.test(filter)]).toEqual([file, true]);
      }
    }
  });

  test('reports exactly what the unscoped validator reports', () => {
    const disabledRules = disabledGuardRuleFiles();
    const full = guardReport(new CfnGuardValidator({ disabledRules }));
    expect(full.length).toBeGreaterThan(0);
    expect(guardReport(referenceGuardValidator())).toEqual(full);
  });

  test('a control that is not disabled still fails the synth (a subnet that assigns public IPs)', () => {
    const app = testApp();
    Validations.of(app).addPlugins(referenceGuardValidator());
    carelessStack(app);
    expect(() => app.synth()).toThrow(/CT\.EC2\.PR\.11/);
  });

  test('every disabled rule is a real control, with its reason', () => {
    const names = new Set(files.map((f) => path.parse(f).name));
    for (const rule of DISABLED_GUARD_RULES) {
      expect(rule.control).toMatch(/^CT\.[A-Z0-9]+\.PR\.\d+$/);
      expect(rule.reason.length).toBeGreaterThan(40);
    }
    expect(disabledGuardRuleFiles().filter((f) => !names.has(f))).toEqual([]);
  });
});
