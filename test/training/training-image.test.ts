import * as fs from 'fs';
import * as path from 'path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import { AwsSolutionsChecks } from 'cdk-nag';
import { disabledGuardRuleFiles } from '../../lib/platform/policy-validation';
import { MEGATRON_RELEASE } from '../../lib/training/megatron-release';
import { TRAINING_IMAGE_BUILD_ARGS, TRAINING_IMAGE_DIR, TRAINING_IMAGE_PINS, TrainingImage, TrainingImageProps } from '../../lib/training/training-image';
import { CDK_CONTEXT, testStack } from '../util';

const DOCKERFILE = fs.readFileSync(path.join(TRAINING_IMAGE_DIR, 'Dockerfile'), 'utf8');
const MEGATRON_RELEASE_SOURCE = fs.readFileSync(path.join(__dirname, '../../lib/training/megatron-release.ts'), 'utf8');

function build(props?: TrainingImageProps): { stack: Stack; image: TrainingImage; template: Template } {
  const stack = testStack();
  const image = new TrainingImage(stack, 'Image', props);
  return { stack, image, template: Template.fromStack(stack) };
}

/** The Dockerfile's `ARG NAME=default` lines. */
function dockerfileArgs(): Record<string, string> {
  const args: Record<string, string> = {};
  for (const match of DOCKERFILE.matchAll(/^ARG (\w+)=(\S+)$/gm)) args[match[1]] = match[2];
  return args;
}

function buildCommands(template: Template): string {
  const project = Object.values(template.findResources('AWS::CodeBuild::Project'))[0];
  const spec = JSON.parse(project.Properties.Source.BuildSpec as string);
  return (spec.phases.build.commands as string[]).join('\n');
}

describe('TrainingImage repository', () => {
  test('private, scanned on push, immutable tags, KMS, no fixed name, kept except after a failed create', () => {
    const { template } = build();
    template.hasResource('AWS::ECR::Repository', {
      Properties: {
        ImageScanningConfiguration: { ScanOnPush: true },
        ImageTagMutability: 'IMMUTABLE',
        EncryptionConfiguration: { EncryptionType: 'KMS', KmsKey: { 'Fn::GetAtt': [Match.stringLikeRegexp('ImageKey'), 'Arn'] } },
        RepositoryName: Match.absent(),
        RepositoryPolicyText: Match.absent(),
      },
      DeletionPolicy: 'RetainExceptOnCreate',
      UpdateReplacePolicy: 'Retain',
    });
    template.hasResource('AWS::KMS::Key', { Properties: { EnableKeyRotation: true }, DeletionPolicy: 'RetainExceptOnCreate' });
  });

  test('lifecycle: untagged images expire after 3 days, the newest 10 are kept; both configurable', () => {
    const rules = (template: Template) => {
      const repository = Object.values(template.findResources('AWS::ECR::Repository'))[0];
      return JSON.parse(repository.Properties.LifecyclePolicy.LifecyclePolicyText).rules.map((r: { selection: unknown }) => r.selection);
    };
    expect(rules(build().template)).toEqual([
      { tagStatus: 'untagged', countType: 'sinceImagePushed', countNumber: 3, countUnit: 'days' },
      { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 10 },
    ]);
    expect(rules(build({ keepImages: 3, untaggedImageExpiryDays: 1 }).template)).toEqual([
      { tagStatus: 'untagged', countType: 'sinceImagePushed', countNumber: 1, countUnit: 'days' },
      { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 3 },
    ]);
  });
});

describe('TrainingImage build', () => {
  test('CodeBuild: privileged (Docker), a managed standard image, LARGE, KMS, the Dockerfile directory asset as source', () => {
    const { image, template } = build();
    const asset = image.node.findChild('Context') as s3assets.Asset;
    template.hasResourceProperties('AWS::CodeBuild::Project', {
      Environment: { PrivilegedMode: true, Image: 'aws/codebuild/standard:7.0', ComputeType: 'BUILD_GENERAL1_LARGE' },
      EncryptionKey: { 'Fn::GetAtt': [Match.stringLikeRegexp('ImageKey'), 'Arn'] },
      Source: { Type: 'S3', Location: { 'Fn::Join': ['', [Match.anyValue(), `/${asset.s3ObjectKey}`]] } },
      TimeoutInMinutes: 180,
      Name: Match.absent(),
      LogsConfig: { CloudWatchLogs: { Status: 'ENABLED', GroupName: { Ref: Match.stringLikeRegexp('ImageBuildLogs') } } },
    });
    template.hasResource('AWS::Logs::LogGroup', {
      Properties: { RetentionInDays: 365, KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('ImageKey'), 'Arn'] }, LogGroupName: Match.absent() },
      DeletionPolicy: 'RetainExceptOnCreate',
    });
    expect(asset.s3ObjectKey).toBe(`${asset.assetHash}.zip`);
  });

  test('the tag is content-addressed: it is the build\'s IMAGE_TAG and the end of imageUri', () => {
    const { stack, image, template } = build();
    expect(image.imageTag).toMatch(/^[0-9a-f]{64}$/);
    template.hasResourceProperties('AWS::CodeBuild::Project', {
      Environment: { EnvironmentVariables: Match.arrayWith([{ Name: 'IMAGE_TAG', Type: 'PLAINTEXT', Value: image.imageTag }]) },
    });
    expect(JSON.stringify(stack.resolve(image.imageUri))).toContain(`/",{"Ref":"${stack.getLogicalId(image.repository.node.defaultChild as never)}"},":${image.imageTag}"`);
    expect(stack.resolve(image.enrootImage)).toEqual({
      'Fn::Join': ['', [{ 'Fn::Select': [0, { 'Fn::Split': ['/', stack.resolve(image.repository.repositoryUri)] }] },
        '#', stack.resolve(image.repository.repositoryName), `:${image.imageTag}`]],
    });
    // The same content gives the same tag in another stack.
    expect(build().image.imageTag).toBe(image.imageTag);
  });

  test('the buildspec logs in to ECR, passes every pin as a build argument and pushes only the content tag', () => {
    const commands = buildCommands(build().template);
    expect(commands).toContain('aws ecr get-login-password --region "$AWS_REGION" | docker login --username AWS --password-stdin "${REPOSITORY_URI%%/*}"');
    for (const [name, value] of Object.entries(TRAINING_IMAGE_BUILD_ARGS)) expect(commands).toContain(` --build-arg ${name}=${value} `);
    expect(commands).toContain('--tag "$REPOSITORY_URI:$IMAGE_TAG" .');
    expect(commands.match(/docker push [^;]*/g)).toEqual(['docker push "$REPOSITORY_URI:$IMAGE_TAG"']);
    expect(commands).not.toMatch(/latest/);
    // An immutable tag cannot be pushed twice: a build of content already pushed does nothing.
    expect(commands).toMatch(/^if aws ecr describe-images --repository-name "\$REPOSITORY_NAME" --image-ids imageTag="\$IMAGE_TAG"/);
  });

  test('the build role pushes to this repository only, reads its asset, writes its logs', () => {
    const { stack, image, template } = build();
    const repositoryArn = stack.resolve(image.repository.repositoryArn);
    const statements = Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((p) => JSON.stringify(p.Properties.Roles).includes('ImageBuildRole'))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]);
    const ecrStatements = statements.filter((s) => ([] as string[]).concat(s.Action).some((a) => a.startsWith('ecr:')));
    expect(ecrStatements).toEqual([
      expect.objectContaining({ Resource: repositoryArn, Action: expect.arrayContaining(['ecr:PutImage', 'ecr:BatchGetImage', 'ecr:DescribeImages']) }),
      expect.objectContaining({ Resource: '*', Action: 'ecr:GetAuthorizationToken' }),
    ]);
    const asset = image.node.findChild('Context') as s3assets.Asset;
    expect(JSON.stringify(statements)).toContain(`/${asset.s3ObjectKey}`);
    expect(JSON.stringify(statements)).toContain(JSON.stringify(stack.resolve(image.logGroup.logGroupArn)));
  });

  test('the compute type and timeout can be set', () => {
    const { template } = build({ computeType: codebuild.ComputeType.X2_LARGE, buildTimeout: Duration.hours(5) });
    template.hasResourceProperties('AWS::CodeBuild::Project', {
      Environment: { ComputeType: 'BUILD_GENERAL1_2XLARGE' },
      TimeoutInMinutes: 300,
    });
  });
});

describe('TrainingImage Dockerfile pins', () => {
  const args = dockerfileArgs();

  test('every pin is a build argument whose default is the pin, and nothing else is', () => {
    expect(args).toEqual({ ...TRAINING_IMAGE_BUILD_ARGS });
    expect(Object.keys(TRAINING_IMAGE_BUILD_ARGS)).toHaveLength(Object.keys(TRAINING_IMAGE_PINS).length);
  });

  test('FROM the NGC PyTorch release megatron-release.ts names, by tag and digest', () => {
    const ngc = /NGC PyTorch container (\d\d\.\d\d)/.exec(MEGATRON_RELEASE_SOURCE)?.[1];
    expect(ngc).toBe('25.09');
    expect(TRAINING_IMAGE_PINS.baseImage).toMatch(new RegExp(`^nvcr\\.io/nvidia/pytorch:${ngc!.replace('.', '\\.')}-py3@sha256:[0-9a-f]{64}$`));
    expect(DOCKERFILE).toMatch(/^FROM \$\{BASE_IMAGE\}$/m);
    expect(DOCKERFILE.match(/^FROM /gm)).toHaveLength(1);
  });

  test('Megatron-LM: the release of megatron-release.ts, checked out at its commit and verified', () => {
    expect(TRAINING_IMAGE_PINS.megatronLmTag).toBe(MEGATRON_RELEASE.tag);
    expect(TRAINING_IMAGE_PINS.megatronLmCommit).toBe(MEGATRON_RELEASE.commit);
    expect(args.MEGATRON_LM_COMMIT).toBe('309ffca6a40553362d44fd17efc56b772fa1aa44');
    expect(DOCKERFILE).toContain('git clone --branch "${MEGATRON_LM_TAG}" --depth 1 https://github.com/NVIDIA/Megatron-LM.git /opt/megatron-lm');
    expect(DOCKERFILE).toContain('checkout --detach "${MEGATRON_LM_COMMIT}"');
    expect(DOCKERFILE).toContain('test "$(git -C /opt/megatron-lm rev-parse HEAD)" = "${MEGATRON_LM_COMMIT}"');
  });

  test('Megatron-LM is where the launch scripts look for it, and on the Python path', () => {
    const launch = fs.readFileSync(path.join(__dirname, '../../lib/cluster/lifecycle/jobs/megatron-launch.sh'), 'utf8');
    const megatronDir = /^: "\$\{MEGATRON_DIR:=(\S+)\}"$/m.exec(launch)?.[1];
    expect(megatronDir).toBe('/opt/megatron-lm');
    expect(DOCKERFILE).toContain(`https://github.com/NVIDIA/Megatron-LM.git ${megatronDir} `);
    expect(DOCKERFILE).toMatch(new RegExp(`^ENV PYTHONPATH=${megatronDir}\\$`, 'm'));
  });

  test('transformers and wandb exact versions; transformers 4.x with minor >= 31 (the Llama loader asserts it)', () => {
    const [major, minor] = TRAINING_IMAGE_PINS.transformersVersion.split('.').map(Number);
    expect(TRAINING_IMAGE_PINS.transformersVersion).toMatch(/^\d+\.\d+\.\d+$/);
    expect(major).toBe(4);
    expect(minor).toBeGreaterThanOrEqual(31);
    expect(TRAINING_IMAGE_PINS.wandbVersion).toMatch(/^\d+\.\d+\.\d+$/);
    expect(DOCKERFILE).toContain('pip install --no-cache-dir "transformers==${TRANSFORMERS_VERSION}" "wandb==${WANDB_VERSION}"');
    // Transformer Engine is the base's.
    expect(DOCKERFILE).not.toMatch(/pip install[^\n]*transformer[-_]engine/);
  });

  test('EFA installer: the pinned version, checked against its SHA256 before it runs; userspace only', () => {
    expect(TRAINING_IMAGE_PINS.efaInstallerVersion).toBe('1.41.0');
    expect(TRAINING_IMAGE_PINS.efaInstallerSha256).toMatch(/^[0-9a-f]{64}$/);
    const download = DOCKERFILE.indexOf('curl -fsSLO "https://efa-installer.amazonaws.com/aws-efa-installer-${EFA_INSTALLER_VERSION}.tar.gz"');
    const check = DOCKERFILE.indexOf('echo "${EFA_INSTALLER_SHA256}  aws-efa-installer-${EFA_INSTALLER_VERSION}.tar.gz" | sha256sum --check --strict -');
    const run = DOCKERFILE.indexOf('./efa_installer.sh -y --skip-kmod --skip-limit-conf --no-verify');
    expect(download).toBeGreaterThan(0);
    expect(check).toBeGreaterThan(download);
    expect(run).toBeGreaterThan(check);
  });

  test('aws-ofi-nccl: the release tag, verified against its commit, built with EFA libfabric and CUDA', () => {
    expect(TRAINING_IMAGE_PINS.awsOfiNcclVersion).toBe('v1.17.3');
    expect(DOCKERFILE).toContain('git clone --branch "${AWS_OFI_NCCL_VERSION}" --depth 1 https://github.com/aws/aws-ofi-nccl.git');
    expect(DOCKERFILE).toContain('test "$(git rev-parse HEAD)" = "${AWS_OFI_NCCL_COMMIT}"');
    expect(DOCKERFILE).toMatch(/\.\/configure [^\n]*--with-libfabric=\/opt\/amazon\/efa --with-cuda=\/usr\/local\/cuda/);
    expect(DOCKERFILE).toContain('--enable-platform-aws');
  });

  test('nothing runs at container start: no ENTRYPOINT or CMD of ours', () => {
    expect(DOCKERFILE).not.toMatch(/^(ENTRYPOINT|CMD)\b/m);
  });
});

describe('TrainingImage start at deploy', () => {
  test('a custom resource starts the build on create and update, with the content tag, allowed on this project only', () => {
    const { stack, image, template } = build();
    const projectRef = stack.resolve(image.project.projectName);
    const resource = Object.values(template.findResources('Custom::AWS'))[0];
    const call = JSON.stringify(resource.Properties.Create);
    expect(call).toContain('\\"service\\":\\"CodeBuild\\",\\"action\\":\\"startBuild\\"');
    expect(call).toContain(JSON.stringify(projectRef));
    expect(call).toContain(`{\\"name\\":\\"IMAGE_TAG\\",\\"value\\":\\"${image.imageTag}\\",\\"type\\":\\"PLAINTEXT\\"}`);
    expect(resource.Properties.Update).toEqual(resource.Properties.Create);
    expect(resource.Properties.Delete).toBeUndefined();
    expect(resource.Properties.InstallLatestAwsSdk).toBe(false);
    expect(resource.DependsOn).toEqual(expect.arrayContaining([stack.getLogicalId(image.project.node.defaultChild as never)]));
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyName: Match.stringLikeRegexp('ImageStartBuildCustomResourcePolicy'),
      PolicyDocument: { Statement: [{ Effect: 'Allow', Action: 'codebuild:StartBuild', Resource: stack.resolve(image.project.projectArn) }] },
    });
    expect(stack.resolve(image.buildId)).toEqual({ 'Fn::GetAtt': [stack.getLogicalId(image.node.findChild('StartBuild').node.findChild('Resource').node.defaultChild as never), 'build.id'] });
  });
});

describe('TrainingImage.grantPull', () => {
  test('returns an iam.Grant with the ECR pull actions on the repository and GetAuthorizationToken', () => {
    const stack = testStack();
    const image = new TrainingImage(stack, 'Image');
    const role = new iam.Role(stack, 'NodeRole', { assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com') });
    const grant = image.grantPull(role);
    expect(grant).toBeInstanceOf(iam.Grant);
    expect(grant.success).toBe(true);
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: stack.getLogicalId(role.node.defaultChild as never) }],
      PolicyDocument: {
        Statement: [
          { Effect: 'Allow', Action: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'], Resource: stack.resolve(image.repository.repositoryArn) },
          { Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' },
        ],
      },
    });
  });
});

describe('TrainingImage compliance', () => {
  test.each([
    ['agnostic, project flags', undefined, CDK_CONTEXT],
    ['concrete, project flags', { account: '123456789012', region: 'us-east-1' }, CDK_CONTEXT],
    ['concrete, no flags', { account: '123456789012', region: 'us-east-1' }, {}],
  ])('%s: zero unacknowledged AwsSolutions findings, with a node role granted pull', (_name, env, context) => {
    const stack = new Stack(new App({ context }), 'Images', { env });
    const image = new TrainingImage(stack, 'Image');
    image.grantPull(new iam.Role(stack, 'NodeRole', { assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com') }));
    expect(new AwsSolutionsChecks().validateScope(stack).violations.map((v) => v.ruleName)).toEqual([]);
  });
});

describe('TrainingImage synth checks', () => {
  // The schema validation and cfn-guard run over the image in the reference app's synth (reference-app.test.ts: the
  // README's command builds it by default), with the reference app's disabled rules. CT.CODEBUILD.PR.4 (no
  // privileged mode) is one of them: docker build needs the daemon (acknowledged for cdk-nag as AwsSolutions-CB3).
  test('the reference app disables CT.CODEBUILD.PR.4 for the privileged build', () => {
    expect(disabledGuardRuleFiles()).toContain('ct-codebuild-pr-4');
  });
});

describe('TrainingImage validation', () => {
  test.each<[TrainingImageProps, string]>([
    [{ keepImages: 0 }, 'Test/Image: keepImages must be an integer from 1 to 1000, got 0'],
    [{ keepImages: 2.5 }, 'Test/Image: keepImages must be an integer from 1 to 1000, got 2.5'],
    [{ untaggedImageExpiryDays: 400 }, 'Test/Image: untaggedImageExpiryDays must be an integer from 1 to 365, got 400'],
    [{ computeType: codebuild.ComputeType.SMALL },
      'Test/Image: computeType must be one of BUILD_GENERAL1_LARGE, BUILD_GENERAL1_2XLARGE, got BUILD_GENERAL1_SMALL'],
    [{ buildTimeout: Duration.minutes(10) }, 'Test/Image: buildTimeout must be a whole number of minutes from 30 minutes to 36 hours, got 10 minutes'],
    [{ buildTimeout: Duration.hours(40) }, 'Test/Image: buildTimeout must be a whole number of minutes from 30 minutes to 36 hours, got 1 day 16 hours'],
  ])('%j', (props, message) => {
    expect(() => build(props)).toThrow(message);
  });

  test('every problem at once', () => {
    expect(() => build({ keepImages: 0, computeType: codebuild.ComputeType.MEDIUM }))
      .toThrow(/keepImages must be .*\n.*computeType must be one of/);
  });
});
