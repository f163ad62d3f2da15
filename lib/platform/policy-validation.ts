import * as fs from 'fs';
import * as path from 'path';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import type { IPolicyValidationContextBeta1, IPolicyValidationPluginBeta1, PolicyValidationPluginReportBeta1 } from 'aws-cdk-lib';

/** A Control Tower proactive control (cfn-guard rule) the reference platform does not meet, and why. */
export interface DisabledGuardRule {
  /** The control, e.g. `CT.LAMBDA.PR.3` (its rule file is `ct-lambda-pr-3.guard`). */
  readonly control: string;
  /** The rule inside it, as findings name it, e.g. `lambda_inside_vpc_check`. */
  readonly rule: string;
  /** Why the platform does not follow it. */
  readonly reason: string;
}

/** Every cfn-guard rule disabled for the reference stack, in one place. Everything else must pass. */
export const DISABLED_GUARD_RULES: readonly DisabledGuardRule[] = [
  {
    rule: 's3_bucket_object_lock_enabled_check',
    control: 'CT.S3.PR.9',
    reason: 'Checkpoints are rewritten and pruned (auto-export of deletes, expiry of noncurrent versions); Object Lock '
      + 'would block both. Versioning and RETAIN protect the data against accidental loss.',
  },
  {
    rule: 's3_event_notifications_enabled_check',
    control: 'CT.S3.PR.4',
    reason: 'Nothing in the platform consumes bucket events; FSx data repository associations manage their own.',
  },
  {
    rule: 'lambda_inside_vpc_check',
    control: 'CT.LAMBDA.PR.3',
    reason: 'The only functions are custom-resource handlers that call AWS APIs and the public Managed Grafana '
      + 'endpoint; none reads training data. In the VPC they would take addresses from the EFA-sized compute '
      + 'subnet and need more endpoints.',
  },
  {
    rule: 'cloudwatch_log_group_encrypted_check',
    control: 'CT.CLOUDWATCH.PR.3',
    reason: 'CloudWatch Logs encrypts every log group at rest. The Prometheus workspace log uses the observability '
      + 'key; VPC flow logs and custom-resource handler logs (two of them created inside aws-cdk-lib) hold no '
      + 'training data.',
  },
  {
    rule: 's3_bucket_default_encryption_kms_check',
    control: 'CT.S3.PR.10',
    reason: 'S3 server access logs can only be delivered to SSE-S3 buckets. The lifecycle-scripts bucket holds this '
      + 'package\'s scripts and settings (no secrets); SSE-S3 spares every node a KMS permission.',
  },
  {
    rule: 'codebuild_project_environment_privileged_check',
    control: 'CT.CODEBUILD.PR.4',
    reason: 'The training image is built with `docker build` in CodeBuild (no Docker at synth), which needs the '
      + 'privileged mode; the project runs only the buildspec of lib/training/training-image.ts on the shipped Dockerfile.',
  },
  {
    rule: 's3_bucket_logging_enabled_check',
    control: 'CT.S3.PR.2',
    reason: 'Only the access-log bucket itself is not logged: logging it would log its own logs forever.',
  },
];

const GUARD_PACKAGE_JSON = require.resolve('@cdklabs/cdk-validator-cfnguard/package.json');

/** The Control Tower rule files the validator package ships (one `ct-<service>-pr-<n>.guard` per control). */
export const CONTROL_TOWER_RULES_DIR = path.join(path.dirname(GUARD_PACKAGE_JSON), 'rules', 'control-tower', 'cfn-guard');

/** Every resource type a rule file names, e.g. `AWS::S3::Bucket`. */
export function resourceTypesNamedBy(ruleFile: string): Set<string> {
  return new Set(fs.readFileSync(ruleFile, 'utf8').match(/AWS::[A-Za-z0-9]+::[A-Za-z0-9]+/g) ?? []);
}

function ruleFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return ruleFiles(file);
    return entry.name.endsWith('.guard') ? [file] : [];
  });
}

function templateResourceTypes(templatePaths: readonly string[]): Set<string> {
  const types = new Set<string>();
  for (const file of templatePaths) {
    const resources = JSON.parse(fs.readFileSync(file, 'utf8')).Resources ?? {};
    for (const resource of Object.values<{ Type?: string }>(resources)) if (resource.Type) types.add(resource.Type);
  }
  return types;
}

/**
 * cfn-guard with the Control Tower controls, given only the rule files that can apply to the templates.
 *
 * Every Control Tower rule selects resources by type (`Resources.*[ Type == %X ]`, with the type as a string
 * literal in the same file; test/platform/policy-validation.test.ts pins that premise), so a rule naming no type
 * present in the templates selects nothing and cannot report a finding. Leaving those out gives the same report
 * and spares cfn-guard parsing the ~240 files: it is most of what the check costs (`npm run bench:synth`).
 */
export class TypeScopedGuardValidator implements IPolicyValidationPluginBeta1 {
  public readonly name = 'cdk-validator-cfnguard';
  public readonly version: string;
  private readonly rules: ReadonlyArray<{ file: string; types: Set<string> }>;

  constructor(private readonly disabledRules: readonly string[]) {
    this.version = JSON.parse(fs.readFileSync(GUARD_PACKAGE_JSON, 'utf8')).version;
    this.rules = ruleFiles(CONTROL_TOWER_RULES_DIR)
      .filter((file) => !disabledRules.includes(path.parse(file).name))
      .map((file) => ({ file, types: resourceTypesNamedBy(file) }));
  }

  public validate(context: IPolicyValidationContextBeta1): PolicyValidationPluginReportBeta1 {
    const present = templateResourceTypes(context.templatePaths);
    const applicable = this.rules.filter((r) => [...r.types].some((t) => present.has(t))).map((r) => r.file);
    if (applicable.length === 0) return { success: true, violations: [] };
    return new CfnGuardValidator({ controlTowerRulesEnabled: false, rules: applicable, disabledRules: [...this.disabledRules] })
      .validate(context);
  }
}

/** The rule-file names (`ct-s3-pr-9`) of the disabled controls. */
export function disabledGuardRuleFiles(): string[] {
  return DISABLED_GUARD_RULES.map((r) => r.control.toLowerCase().replace(/\./g, '-'));
}

/** cfn-guard (Control Tower proactive controls, offline) with the disabled rules above. */
export function referenceGuardValidator(): TypeScopedGuardValidator {
  return new TypeScopedGuardValidator(disabledGuardRuleFiles());
}
