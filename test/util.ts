import * as fs from 'fs';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';

/** The feature flags and context the reference app runs with (cdk.json), so tests see what users deploy. */
export const CDK_CONTEXT: Record<string, unknown> =
  JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'cdk.json'), 'utf8')).context;

/** An app with the project's context; the built-in CloudFormation validation is off unless asked for. */
export function testApp(context: Record<string, unknown> = {}): App {
  return new App({ context: { ...CDK_CONTEXT, ...context } });
}

/** An environment-agnostic stack in a fresh `testApp()`. */
export function testStack(id = 'Test'): Stack {
  return new Stack(testApp(), id);
}

/** The cluster-settings.json a synthesized stack ships to its nodes (a Source.jsonData asset in the assembly). */
export function settingsOf(stack: Stack, template: Template): Record<string, any> {
  const deployment = Object.values(template.findResources('Custom::CDKBucketDeployment'))[0];
  const keys: string[] = deployment.Properties.SourceObjectKeys;
  for (const key of keys) {
    const file = path.join((stack.node.root as App).outdir, `asset.${key.replace('.zip', '')}`, 'cluster-settings.json');
    if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8'));
  }
  throw new Error('settings asset not found');
}
