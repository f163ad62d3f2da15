// Generates docs/architecture.dot from the synthesized swallow-70b reference stack: one box per top-level
// construct, one node per kind of resource in it (with a count), and an arrow wherever a resource refers to
// another (Ref, GetAtt, DependsOn). Render with graphviz:
//   npx tsx docs/tools/architecture-diagram.ts && dot -Tsvg docs/architecture.dot -o docs/architecture.svg
// test/docs/architecture-diagram.test.ts fails when the committed .dot no longer matches the stack.
import * as fs from 'fs';
import * as path from 'path';
import { App, CfnResource, Stack } from 'aws-cdk-lib';
import { SWALLOW_70B, TrainingPlatformStack } from '../../lib';

/** Plumbing that would only clutter the picture. */
const HIDDEN = /^(AWS::IAM::Policy|AWS::EC2::(SecurityGroupIngress|SecurityGroupEgress|Route|SubnetRouteTableAssociation|VPCGatewayAttachment|RouteTable|EIP)|AWS::CDK::Metadata|AWS::Lambda::(Permission|LayerVersion)|AWS::SNS::TopicPolicy|AWS::S3::BucketPolicy|AWS::Logs::LogGroup|Custom::(VpcRestrictDefaultSG|S3AutoDeleteObjects))$/;

interface Resource { readonly id: string; readonly type: string; readonly group: string; readonly refs: Set<string> }
interface TemplateResource { readonly Type: string; readonly Properties?: unknown; readonly DependsOn?: string | string[] }
interface Template { readonly Resources: Record<string, TemplateResource> }

export function architectureDot(): string {
  const context = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'cdk.json'), 'utf8')).context;
  process.env.CDK_VALIDATION = 'false';
  const app = new App({ context });
  const stack = new TrainingPlatformStack(app, 'TrainingPlatform', { profile: SWALLOW_70B, availabilityZoneId: 'use1-az6' });
  const template = app.synth().getStackByName(stack.stackName).template;
  return render(collect(stack, template));
}

/** Each resource with the top-level construct it belongs to (aws-cdk-lib's singletons sit at the stack root). */
function collect(stack: Stack, template: Template): Map<string, Resource> {
  const groupOf = new Map<string, string>();
  for (const cfn of stack.node.findAll().filter(CfnResource.isCfnResource)) {
    const top = cfn.node.scopes[2];
    groupOf.set(stack.getLogicalId(cfn), top === cfn || top.node.id.startsWith('Custom::') ? 'aws-cdk-lib singletons' : top.node.id);
  }
  const byId = new Map<string, Resource>();
  for (const [id, r] of Object.entries(template.Resources)) {
    const group = groupOf.get(id) ?? 'aws-cdk-lib singletons';
    const refs = new Set<string>([...findRefs(r.Properties), ...[r.DependsOn ?? []].flat()]);
    byId.set(id, { id, type: r.Type, group, refs });
  }
  return byId;
}

function findRefs(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((v) => findRefs(v, out));
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'Ref' && typeof v === 'string') out.push(v);
      else if (k === 'Fn::GetAtt' && Array.isArray(v)) out.push(String(v[0]));
      else findRefs(v, out);
    }
  }
  return out;
}

const label = (type: string) => type.replace(/^AWS::/, '').replace('::', ' ').replace(/^Custom::/, 'Custom ');
const nodeKey = (r: Resource) => `${r.group}|${r.type}`;

function render(resources: Map<string, Resource>): string {
  const shown = [...resources.values()].filter((r) => !HIDDEN.test(r.type));
  const counts = new Map<string, number>();
  for (const r of shown) counts.set(nodeKey(r), (counts.get(nodeKey(r)) ?? 0) + 1);
  const edges = new Set<string>();
  for (const r of shown) {
    for (const ref of r.refs) {
      const target = resources.get(ref);
      if (!target || HIDDEN.test(target.type) || nodeKey(target) === nodeKey(r)) continue;
      edges.add(`  "${nodeKey(r)}" -> "${nodeKey(target)}";`);
    }
  }
  const groups = [...new Set(shown.map((r) => r.group))];
  const lines = ['digraph TrainingPlatform {', '  rankdir=LR; compound=true; fontname="Helvetica";',
    '  node [shape=box, style="rounded,filled", fillcolor="#f5f7fa", fontname="Helvetica", fontsize=10];',
    '  edge [color="#8a94a6", arrowsize=0.6];'];
  groups.forEach((group, i) => {
    lines.push(`  subgraph cluster_${i} {`, `    label="${group}"; style="rounded"; color="#4a6fa5";`);
    for (const [key, count] of [...counts].filter(([k]) => k.startsWith(`${group}|`)).sort()) {
      const type = key.split('|')[1];
      lines.push(`    "${key}" [label="${label(type)}${count > 1 ? ` ×${count}` : ''}"];`);
    }
    lines.push('  }');
  });
  lines.push(...[...edges].sort(), '}');
  return lines.join('\n') + '\n';
}

if (require.main === module) {
  fs.writeFileSync(path.join(__dirname, '..', 'architecture.dot'), architectureDot());
}
