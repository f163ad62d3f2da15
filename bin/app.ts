#!/usr/bin/env node
// The reference app: `npx cdk synth -c profile=swallow-70b|smoke -c availabilityZoneId=use1-az6 (required: the AZ
//   ID of your GPU capacity)
//   [-c alertEmail=oncall@example.com] [-c slackWorkspaceId=T… -c slackChannelId=C…]
//   [-c servingModelKey=checkpoints/serving/swallow-70b/]` (the last adds a SageMaker endpoint, which bills while idle)
//   [-c compliance=full|nag|none]` (default full; see "Compliance at synth" below).
import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { profileNamed, synthesizeApp, TrainingPlatformStack } from '../lib';
import { ConfigurationError } from '../lib/core/configuration-error';
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
  // rules, with reasons, in lib/platform/policy-validation.ts. `-c compliance=nag` skips cfn-guard and
  // `-c compliance=none` both, for a fast inner loop (bench:synth prints what each costs); the tests and CI
  // always run every check.
  const compliance = app.node.tryGetContext('compliance') ?? 'full';
  if (!['full', 'nag', 'none'].includes(compliance)) {
    throw new ConfigurationError(app, 'compliance', `must be one of full, nag, none (-c compliance=NAME), got '${compliance}'`);
  }
  if (compliance !== 'none') Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  if (compliance === 'full') Validations.of(app).addPlugins(referenceGuardValidator());
});
