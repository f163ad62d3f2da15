// The baseline for bench/synth.ts: an app with one stack holding a single no-op resource (CloudFormation
// validation refuses a stack with no resources), run the same way as bin/app.ts.
import { App, CfnWaitConditionHandle, Stack } from 'aws-cdk-lib';

const app = new App();
new CfnWaitConditionHandle(new Stack(app, 'Bare'), 'Nothing');
