import * as fs from 'fs';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';

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
