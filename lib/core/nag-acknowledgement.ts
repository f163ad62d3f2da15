import { Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { IConstruct } from 'constructs';

/*
 * cdk-nag 3.x names a finding after the resolved CloudFormation value, flattened: AwsSolutions-IAM5 reports
 * `Resource::<flattened ARN>` for every Allow resource containing `*`, AwsSolutions-IAM4 `Policy::<flattened ARN>`
 * for every AWS managed policy (cdk-nag lib/rules/iam/IAMNoWildcardPermissions.js, IAMNoManagedPolicies.js,
 * lib/utils/flatten-cfn-reference.js). The flattened value depends on the stack's environment: an agnostic stack
 * gives `arn:<AWS::Partition>:…:<AWS::Region>:<AWS::AccountId>:…`, a concrete one (with
 * `@aws-cdk/core:enablePartitionLiterals`) `arn:aws:…:us-east-1:123456789012:…`. So an acknowledgement is computed
 * from the same expression the statement uses, resolved against the stack, never written out by hand.
 */

/** The string cdk-nag reports for `value` (an ARN, possibly with tokens) in the stack of `scope`. */
export function nagFindingValue(scope: IConstruct, value: unknown): string {
  return flatten(Stack.of(scope).resolve(value));
}

/**
 * Acknowledges AwsSolutions-IAM5 for wildcard resources a service requires, on `scope` (a policy, a role or any
 * construct above the policy). `resources` are the exact values given to the policy statement.
 */
export function acknowledgeWildcardResources(scope: IConstruct, resources: readonly string[], reason: string): void {
  for (const resource of resources) {
    Validations.of(scope).acknowledge({ id: `AwsSolutions-IAM5[Resource::${nagFindingValue(scope, resource)}]`, reason });
  }
}

/** Acknowledges AwsSolutions-IAM5 for wildcard actions (e.g. `s3:GetObject*` from aws-cdk-lib's grantRead). */
export function acknowledgeWildcardActions(scope: IConstruct, actions: readonly string[], reason: string): void {
  for (const action of actions) Validations.of(scope).acknowledge({ id: `AwsSolutions-IAM5[Action::${action}]`, reason });
}

/** Acknowledges AwsSolutions-IAM4 for one AWS managed policy attached to a role under `scope`. */
export function acknowledgeManagedPolicy(scope: IConstruct, policy: iam.IManagedPolicy, reason: string): void {
  Validations.of(scope).acknowledge({ id: `AwsSolutions-IAM4[Policy::${nagFindingValue(scope, policy.managedPolicyArn)}]`, reason });
}

/**
 * Acknowledges every IAM5 finding a policy has right now: for policies aws-cdk-lib builds for its own handlers
 * (BucketDeployment, custom-resource Provider), whose statements are not ours to write. Reads the rendered
 * document without resolving it (resolving freezes the statements).
 */
export function acknowledgeCurrentWildcards(policy: iam.Policy, reason: string): void {
  const document = Stack.of(policy).resolve(policy.document.toJSON()) as { Statement?: PolicyStatementJson[] };
  for (const statement of document.Statement ?? []) {
    if (statement.Effect !== 'Allow') continue;
    const actions = ([] as unknown[]).concat(statement.Action ?? []).filter((a): a is string => typeof a === 'string' && a.includes('*'));
    acknowledgeWildcardActions(policy, actions, reason);
    for (const resource of ([] as unknown[]).concat(statement.Resource ?? [])) {
      const value = flatten(resource);
      if (value.includes('*')) Validations.of(policy).acknowledge({ id: `AwsSolutions-IAM5[Resource::${value}]`, reason });
    }
  }
}

interface PolicyStatementJson {
  readonly Effect?: string;
  readonly Action?: unknown;
  readonly Resource?: unknown;
}

/** cdk-nag's flattenCfnReference (not exported by the package), for resolved CloudFormation values. */
function flatten(node: unknown): string {
  if (node === undefined) return '';
  if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/\}/g, '>');
  const fn = node as Record<string, unknown>;
  if (Array.isArray(fn['Fn::Join'])) {
    const [delimiter, parts] = fn['Fn::Join'] as [string, unknown[]];
    return parts.map(flatten).join(delimiter);
  }
  if (fn['Fn::Sub'] !== undefined) return flatten(fn['Fn::Sub']);
  if (Array.isArray(fn['Fn::GetAtt'])) {
    const [resource, attribute] = fn['Fn::GetAtt'] as [unknown, unknown];
    return `<${flatten(resource)}.${flatten(attribute)}>`;
  }
  if (fn['Fn::ImportValue'] !== undefined) return flatten(fn['Fn::ImportValue']);
  if (fn.Ref !== undefined) return `<${flatten(fn.Ref)}>`;
  return JSON.stringify(node);
}
