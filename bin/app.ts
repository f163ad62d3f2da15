#!/usr/bin/env node
// The reference app: `npx cdk synth -c profile=swallow-70b|smoke [-c availabilityZoneId=use1-az6]
//   [-c alertEmail=oncall@example.com] [-c slackWorkspaceId=T… -c slackChannelId=C…]
//   [-c servingModelKey=serving/swallow-70b/]` (the last adds a SageMaker endpoint, which bills while idle).
import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { profileNamed, synthesizeApp, TrainingPlatformStack } from '../lib';
import { referenceGuardValidator } from '../lib/platform/policy-validation';

// A configuration mistake prints as one line per problem (construct path, field, allowed, given), no stack trace.
synthesizeApp((app) => {
  const profile = profileNamed(app, app.node.tryGetContext('profile') ?? 'swallow-70b');
  new TrainingPlatformStack(app, 'TrainingPlatform', {
    stackName: `hyperpod-${profile.name}`,
    profile,
    availabilityZoneId: app.node.tryGetContext('availabilityZoneId'),
    alertEmails: app.node.tryGetContext('alertEmail') ? [app.node.tryGetContext('alertEmail')] : undefined,
    slack: app.node.tryGetContext('slackWorkspaceId') ? {
      workspaceId: app.node.tryGetContext('slackWorkspaceId'),
      channelId: app.node.tryGetContext('slackChannelId'),
    } : undefined,
    servingModelKey: app.node.tryGetContext('servingModelKey'),
  });
  // Compliance at synth: a finding fails it. Acknowledged findings sit next to their code; disabled guard
  // rules, with reasons, in lib/platform/policy-validation.ts.
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), referenceGuardValidator());
});
