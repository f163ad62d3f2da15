import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import {
  configurationProblems, DataRepositoryEvent, HyperPodCluster, DataRepositoryOptions, LustreDataCompression, LustreStorage, LustreStorageProps, TrainingNetwork,
} from '../../lib';
import { testStack } from '../util';

function build(props: Partial<LustreStorageProps> = {}): { stack: Stack; storage: LustreStorage; network: TrainingNetwork } {
  const stack = testStack();
  const network = new TrainingNetwork(stack, 'Network', { plannedNodes: [{ instanceType: 'ml.p5.48xlarge', count: 4 }] });
  const storage = new LustreStorage(stack, 'Storage', { network, ...props });
  return { stack, storage, network };
}

const NO_TRAFFIC = { CidrIp: '255.255.255.255/32', IpProtocol: 'icmp', FromPort: 86, ToPort: 251, Description: Match.anyValue() };

describe('LustreStorage defaults', () => {
  const { stack, storage, network } = build();
  const template = Template.fromStack(stack);

  test('PERSISTENT_2, Lustre 2.15, LZ4, 4800 GiB at 250 MB/s/TiB, automatic metadata, KMS, in the compute subnet', () => {
    template.hasResourceProperties('AWS::FSx::FileSystem', {
      FileSystemType: 'LUSTRE',
      FileSystemTypeVersion: '2.15',
      StorageType: 'SSD',
      StorageCapacity: 4800,
      KmsKeyId: { Ref: Match.stringLikeRegexp('StorageKey') },
      SubnetIds: [stack.resolve(network.computeSubnet.subnetId)],
      LustreConfiguration: {
        DeploymentType: 'PERSISTENT_2',
        PerUnitStorageThroughput: 250,
        DataCompressionType: 'LZ4',
        MetadataConfiguration: { Mode: 'AUTOMATIC' },
        EfaEnabled: Match.absent(),
        LogConfiguration: { Level: 'WARN_ERROR' },
      },
    });
    expect(storage.throughputMBps).toBeCloseTo(4800 / 1024 * 250);
  });

  test('the file system and its key are RetainExceptOnCreate: a failed first create cleans up, later deletes keep them', () => {
    template.hasResource('AWS::FSx::FileSystem', { DeletionPolicy: 'RetainExceptOnCreate', UpdateReplacePolicy: 'Retain' });
    template.hasResource('AWS::KMS::Key', { DeletionPolicy: 'RetainExceptOnCreate', Properties: { EnableKeyRotation: true } });
  });

  test('Lustre ports are open between the file system and the cluster security group, both ways', () => {
    const fsSg = stack.resolve(storage.securityGroup.securityGroupId);
    const clientSg = stack.resolve(network.efaSecurityGroup.securityGroupId);
    for (const [from, to] of [[988, 988], [1018, 1023]]) {
      template.hasResourceProperties('AWS::EC2::SecurityGroupIngress',
        { GroupId: fsSg, SourceSecurityGroupId: clientSg, IpProtocol: 'tcp', FromPort: from, ToPort: to });
      template.hasResourceProperties('AWS::EC2::SecurityGroupIngress',
        { GroupId: clientSg, SourceSecurityGroupId: fsSg, IpProtocol: 'tcp', FromPort: from, ToPort: to });
      template.hasResourceProperties('AWS::EC2::SecurityGroupEgress',
        { GroupId: clientSg, DestinationSecurityGroupId: fsSg, IpProtocol: 'tcp', FromPort: from, ToPort: to });
      template.hasResourceProperties('AWS::EC2::SecurityGroupIngress',
        { GroupId: fsSg, SourceSecurityGroupId: fsSg, IpProtocol: 'tcp', FromPort: from, ToPort: to });
    }
  });

  test('the file system security group allows no other egress', () => {
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('Storage: Lustre between'),
      SecurityGroupEgress: [NO_TRAFFIC],
    });
  });

  test('the security-group rules exist before the file system (else InvalidNetworkSettings)', () => {
    const fs = Object.values(template.findResources('AWS::FSx::FileSystem'))[0];
    const rules = Object.keys({
      ...template.findResources('AWS::EC2::SecurityGroupIngress'),
      ...template.findResources('AWS::EC2::SecurityGroupEgress'),
    }).filter((id) => id.includes('Storage'));
    expect(rules.length).toBeGreaterThanOrEqual(8);
    expect(fs.DependsOn).toEqual(expect.arrayContaining(rules));
  });

  test('creates datasets and checkpoints buckets: KMS, versioned, private, TLS-only, access-logged, RetainExceptOnCreate', () => {
    for (const bucket of [storage.datasetsBucket, storage.checkpointsBucket]) {
      const id = stack.getLogicalId(bucket.node.defaultChild as s3.CfnBucket);
      template.hasResource('AWS::S3::Bucket', {
        DeletionPolicy: 'RetainExceptOnCreate',
        Properties: {
          BucketEncryption: { ServerSideEncryptionConfiguration: [{
            ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: Match.anyValue() },
            BucketKeyEnabled: true,
          }] },
          VersioningConfiguration: { Status: 'Enabled' },
          PublicAccessBlockConfiguration: {
            BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true,
          },
          LoggingConfiguration: { DestinationBucketName: { Ref: Match.stringLikeRegexp('AccessLogs') } },
        },
      });
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: id },
        PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({
          Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        })]) },
      });
    }
  });

  test('old checkpoint versions expire after 30 days; dataset versions are kept', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      LoggingConfiguration: { LogFilePrefix: 'CheckpointsBucket/' },
      LifecycleConfiguration: { Rules: [Match.objectLike({ NoncurrentVersionExpiration: { NoncurrentDays: 30 } })] },
    });
    template.hasResourceProperties('AWS::S3::Bucket', {
      LoggingConfiguration: { LogFilePrefix: 'DatasetsBucket/' },
      LifecycleConfiguration: { Rules: [Match.objectLike({ NoncurrentVersionExpiration: Match.absent() })] },
    });
  });

  test('the key lets the FSx service-linked role use it, only through S3 in this account', () => {
    template.hasResourceProperties('AWS::KMS::Key', { KeyPolicy: { Statement: Match.arrayWith([Match.objectLike({
      Sid: 'AllowFsxDataRepositoryAccessViaS3',
      Principal: { AWS: '*' },
      Condition: {
        StringEquals: { 'kms:CallerAccount': { Ref: 'AWS::AccountId' }, 'kms:ViaService': Match.anyValue() },
        ArnLike: { 'aws:PrincipalArn': Match.anyValue() },
      },
    })]) } });
  });

  test('exposes what a cluster needs to mount it', () => {
    const fsId = stack.getLogicalId(storage.resource);
    expect(stack.resolve(storage.dnsName)).toEqual({ 'Fn::GetAtt': [fsId, 'DNSName'] });
    expect(stack.resolve(storage.mountName)).toEqual({ 'Fn::GetAtt': [fsId, 'LustreMountName'] });
    expect(stack.resolve(storage.fileSystemId)).toEqual({ Ref: stack.getLogicalId(storage.resource) });
    expect(storage.connections.securityGroups).toEqual([storage.securityGroup]);
  });
});

describe('LustreStorage options', () => {
  test('EFA: all traffic between the file system and the cluster, capacity in EFA steps', () => {
    const { stack, storage, network } = build({ efaEnabled: true, storageCapacityGiB: 19200 });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::FSx::FileSystem', {
      StorageCapacity: 19200,
      LustreConfiguration: { EfaEnabled: true, MetadataConfiguration: { Mode: 'AUTOMATIC' } },
    });
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      GroupId: stack.resolve(storage.securityGroup.securityGroupId),
      SourceSecurityGroupId: stack.resolve(network.efaSecurityGroup.securityGroupId),
      IpProtocol: '-1',
    });
  });

  test('user-provisioned metadata IOPS, no compression, throughput 1000', () => {
    const { stack } = build({ metadataIops: 24000, dataCompression: LustreDataCompression.NONE, perUnitThroughputMBps: 1000 });
    Template.fromStack(stack).hasResourceProperties('AWS::FSx::FileSystem', { LustreConfiguration: {
      MetadataConfiguration: { Mode: 'USER_PROVISIONED', Iops: 24000 },
      DataCompressionType: 'NONE',
      PerUnitStorageThroughput: 1000,
    } });
  });

  test('brought buckets are used and no bucket is created', () => {
    const stack = testStack();
    const network = new TrainingNetwork(stack, 'Network', { plannedNodes: [{ instanceType: 'ml.p5.48xlarge', count: 2 }] });
    const datasets = s3.Bucket.fromBucketName(stack, 'D', 'my-datasets');
    const checkpoints = s3.Bucket.fromBucketName(stack, 'C', 'my-checkpoints');
    const storage = new LustreStorage(stack, 'Storage', { network, datasetsBucket: datasets, checkpointsBucket: checkpoints });
    expect([storage.datasetsBucket, storage.checkpointsBucket]).toEqual([datasets, checkpoints]);
    Template.fromStack(stack).resourceCountIs('AWS::S3::Bucket', 0);
  });

  test('removalPolicy DESTROY and a custom checkpoint retention are honoured', () => {
    const { stack } = build({ removalPolicy: RemovalPolicy.DESTROY, checkpointNoncurrentVersionExpiration: Duration.days(7) });
    const template = Template.fromStack(stack);
    template.hasResource('AWS::FSx::FileSystem', { DeletionPolicy: 'Delete' });
    template.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Delete' });
    template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: { Rules: [Match.objectLike({ NoncurrentVersionExpiration: { NoncurrentDays: 7 } })] },
    });
  });

  test('fromLustreStorageAttributes gives a mountable file system whose security group admits clients', () => {
    const stack = testStack();
    const sg = ec2.SecurityGroup.fromSecurityGroupId(stack, 'Sg', 'sg-fs');
    const fs = LustreStorage.fromLustreStorageAttributes(stack, 'Fs', {
      fileSystemId: 'fs-1', dnsName: 'fs-1.fsx.us-east-1.amazonaws.com', mountName: 'abcd', securityGroup: sg,
    });
    expect([fs.fileSystemId, fs.dnsName, fs.mountName]).toEqual(['fs-1', 'fs-1.fsx.us-east-1.amazonaws.com', 'abcd']);
    expect(fs.connections.securityGroups).toEqual([sg]);
  });
});

describe('LustreStorage.addDataRepository', () => {
  test('links a directory to an S3 prefix with import/export events, batch import and chunk size', () => {
    const { stack, storage } = build();
    storage.addDataRepository({ fileSystemPath: '/datasets', bucket: storage.datasetsBucket });
    storage.addDataRepository({
      fileSystemPath: '/checkpoints',
      bucket: storage.checkpointsBucket,
      prefix: 'runs/swallow',
      autoImportEvents: [DataRepositoryEvent.NEW],
      autoExportEvents: [DataRepositoryEvent.NEW, DataRepositoryEvent.CHANGED, DataRepositoryEvent.DELETED],
      batchImportMetaDataOnCreate: false,
      importedFileChunkSizeMiB: 2048,
    });
    const template = Template.fromStack(stack);
    const datasets = stack.resolve(storage.datasetsBucket.bucketName);
    template.hasResourceProperties('AWS::FSx::DataRepositoryAssociation', {
      FileSystemId: stack.resolve(storage.fileSystemId),
      FileSystemPath: '/datasets',
      DataRepositoryPath: { 'Fn::Join': ['', ['s3://', datasets, '/datasets/']] },
      BatchImportMetaDataOnCreate: true,
      ImportedFileChunkSize: 1024,
      S3: { AutoImportPolicy: { Events: ['NEW', 'CHANGED', 'DELETED'] }, AutoExportPolicy: Match.absent() },
    });
    template.hasResourceProperties('AWS::FSx::DataRepositoryAssociation', {
      FileSystemPath: '/checkpoints',
      DataRepositoryPath: { 'Fn::Join': ['', ['s3://', stack.resolve(storage.checkpointsBucket.bucketName), '/runs/swallow/']] },
      BatchImportMetaDataOnCreate: false,
      ImportedFileChunkSize: 2048,
      S3: { AutoImportPolicy: { Events: ['NEW'] }, AutoExportPolicy: { Events: ['NEW', 'CHANGED', 'DELETED'] } },
    });
  });

  test('associations are created one after another (FSx fails parallel creation on one file system)', () => {
    const { stack, storage } = build();
    const first = storage.addDataRepository({ fileSystemPath: '/a', bucket: storage.datasetsBucket });
    const second = storage.addDataRepository({ fileSystemPath: '/b', bucket: storage.datasetsBucket });
    const template = Template.fromStack(stack);
    template.hasResource('AWS::FSx::DataRepositoryAssociation', {
      Properties: { FileSystemPath: '/b' },
      DependsOn: [stack.getLogicalId(first.resource)],
    });
    template.hasResource('AWS::FSx::DataRepositoryAssociation', { Properties: { FileSystemPath: '/a' }, DependsOn: Match.absent() });
    expect(storage.dataRepositories).toEqual([first, second]);
  });

  test('the same prefix in two different buckets is fine', () => {
    const { storage, stack } = build();
    const other = s3.Bucket.fromBucketName(stack, 'Other', 'other-bucket');
    storage.addDataRepository({ fileSystemPath: '/a', bucket: storage.datasetsBucket, prefix: 'data' });
    expect(() => storage.addDataRepository({ fileSystemPath: '/b', bucket: other, prefix: 'data' })).not.toThrow();
  });
});

describe('LustreStorage validation', () => {
  const cases: Array<[string, Partial<LustreStorageProps>, string]> = [
    ['a capacity off the PERSISTENT_2 steps', { storageCapacityGiB: 3000 },
      'Test/Storage: storageCapacityGiB must be 1200 or a multiple of 2400 GiB for PERSISTENT_2, got 3000'],
    ['an EFA capacity off the EFA steps for its throughput', { efaEnabled: true, storageCapacityGiB: 4800 },
      'Test/Storage: storageCapacityGiB must be a multiple of 19200 GiB for an EFA-enabled file system at 250 MB/s/TiB, got 4800'],
    ['a per-unit throughput PERSISTENT_2 does not offer', { perUnitThroughputMBps: 200 },
      'Test/Storage: perUnitThroughputMBps must be one of 125, 250, 500, 1000, got 200'],
    ['metadata IOPS off the allowed values', { metadataIops: 5000 },
      'Test/Storage: metadataIops must be 1500, 3000, 6000, or a multiple of 12000 up to 192000, got 5000'],
    ['metadata IOPS above the maximum', { metadataIops: 204000 },
      'Test/Storage: metadataIops must be 1500, 3000, 6000, or a multiple of 12000 up to 192000, got 204000'],
  ];
  test.each(cases)('refuses %s', (_name, props, message) => {
    expect(configurationProblems(build(props).stack)).toEqual([message]);
  });

  test('a number given as a string (from -c context) is named as such', () => {
    expect(configurationProblems(build({ perUnitThroughputMBps: '250' as unknown as number }).stack)).toEqual([
      "Test/Storage: perUnitThroughputMBps must be a number, got string '250'"]);
    expect(configurationProblems(build({ storageCapacityGiB: '2400' as unknown as number }).stack)).toEqual([
      "Test/Storage: storageCapacityGiB must be a number, got string '2400'"]);
  });

  test('every mistake is listed at once, and synth refuses to write a template', () => {
    const { stack } = build({ storageCapacityGiB: 3000, metadataIops: 5000, weeklyMaintenanceStartTime: 'Sun 02:00' });
    expect(configurationProblems(stack)).toEqual([
      'Test/Storage: storageCapacityGiB must be 1200 or a multiple of 2400 GiB for PERSISTENT_2, got 3000',
      'Test/Storage: metadataIops must be 1500, 3000, 6000, or a multiple of 12000 up to 192000, got 5000',
      "Test/Storage: weeklyMaintenanceStartTime must be 'd:HH:MM' in UTC, d from 1 (Monday) to 7, e.g. '7:02:30', got 'Sun 02:00'",
    ]);
    expect(() => Template.fromStack(stack)).toThrow(/Validation failed[\s\S]*storageCapacityGiB[\s\S]*metadataIops[\s\S]*weeklyMaintenanceStartTime/);
  });

  test('weeklyMaintenanceStartTime d:HH:MM is accepted and passed to FSx', () => {
    const { stack } = build({ weeklyMaintenanceStartTime: '7:02:30' });
    expect(configurationProblems(stack)).toEqual([]);
    Template.fromStack(stack).hasResourceProperties('AWS::FSx::FileSystem', { LustreConfiguration: { WeeklyMaintenanceStartTime: '7:02:30' } });
    expect(configurationProblems(build({ weeklyMaintenanceStartTime: '8:25:00' }).stack)).toHaveLength(1);
  });

  test('a missing network is named, not "Cannot read properties of undefined"', () => {
    expect(() => new LustreStorage(testStack(), 'Storage', {} as LustreStorageProps)).toThrow(
      'Test/Storage: network is required (the TrainingNetwork or TrainingNetwork.fromTrainingNetworkAttributes the file system lives in), got undefined');
  });

  test('a noncurrent-version expiration for a brought checkpoints bucket is an error, not ignored', () => {
    const stack = testStack();
    const network = new TrainingNetwork(stack, 'Network', { plannedNodes: [{ instanceType: 'ml.p5.48xlarge', count: 4 }] });
    new LustreStorage(stack, 'Storage', {
      network, checkpointsBucket: s3.Bucket.fromBucketName(stack, 'Ckpt', 'ckpt'), checkpointNoncurrentVersionExpiration: Duration.days(7),
    });
    expect(configurationProblems(stack)).toEqual(["Test/Storage: checkpointNoncurrentVersionExpiration applies only to the "
      + "checkpoints bucket this construct creates, and checkpointsBucket was given: set the expiration in your bucket's "
      + 'lifecycle rules and remove this prop, got 7 days']);
  });

  test('a brought bucket with its own key in the app: FSx gets the statement on that key', () => {
    const stack = testStack();
    const network = new TrainingNetwork(stack, 'Network', { plannedNodes: [{ instanceType: 'ml.p5.48xlarge', count: 4 }] });
    const key = new kms.Key(stack, 'TeamKey', { enableKeyRotation: true });
    const bucket = new s3.Bucket(stack, 'Team', { encryption: s3.BucketEncryption.KMS, encryptionKey: key });
    new LustreStorage(stack, 'Storage', { network, datasetsBucket: bucket });
    const policy = Template.fromStack(stack).toJSON().Resources[stack.getLogicalId(key.node.defaultChild as kms.CfnKey)].Properties.KeyPolicy;
    expect(policy.Statement.map((st: { Sid?: string }) => st.Sid)).toContain('AllowFsxDataRepositoryAccessViaS3');
  });

  test('a brought bucket with an imported key: a warning says what its key policy needs', () => {
    const stack = testStack();
    const network = new TrainingNetwork(stack, 'Network', { plannedNodes: [{ instanceType: 'ml.p5.48xlarge', count: 4 }] });
    const key = kms.Key.fromKeyArn(stack, 'TeamKey', 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab');
    const bucket = s3.Bucket.fromBucketAttributes(stack, 'Team', { bucketName: 'team-data', encryptionKey: key });
    new LustreStorage(stack, 'Storage', { network, datasetsBucket: bucket });
    // Synthesis prints the warning report: assert it rather than print it.
    const printed = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    Annotations.fromStack(stack).hasWarning('/Test/Storage', Match.stringLikeRegexp(
      'datasetsBucket: its KMS key arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab is not defined in this app.*AWSServiceRoleForFSxS3Access_'));
    expect(printed).toHaveBeenCalledWith(expect.stringContaining('cdk-hyperpod-training:broughtBucketKey'));
    printed.mockRestore();
  });

  test('a file system in another VPC than the cluster is refused', () => {
    const stack = testStack();
    const network = new TrainingNetwork(stack, 'Network', { plannedNodes: [{ instanceType: 'ml.p5.48xlarge', count: 4 }] });
    const other = new TrainingNetwork(stack, 'Other', { plannedNodes: [{ instanceType: 'ml.p5.48xlarge', count: 4 }] });
    const storage = new LustreStorage(stack, 'Storage', { network: other });
    new HyperPodCluster(stack, 'Cluster', {
      network, storage, controllerGroup: { instanceType: 'ml.m5.xlarge' }, computeGroups: [{ name: 'gpu', instanceType: 'ml.p5.48xlarge', count: 4 }],
    });
    expect(configurationProblems(stack)).toEqual(["Test/Cluster: storage must be in the cluster's VPC Test/Network/Vpc: FSx for Lustre is "
      + 'mounted over the compute subnet, got a file system in Test/Other/Vpc (Test/Storage)']);
  });

  test('an imported file system with a known VPC is checked too', () => {
    const stack = testStack();
    const network = new TrainingNetwork(stack, 'Network', { plannedNodes: [{ instanceType: 'ml.p5.48xlarge', count: 4 }] });
    const storage = LustreStorage.fromLustreStorageAttributes(stack, 'Fsx', {
      fileSystemId: 'fs-0123456789abcdef0', dnsName: 'fs.example', mountName: 'abcdefgh',
      securityGroup: ec2.SecurityGroup.fromSecurityGroupId(stack, 'FsxSg', 'sg-0123456789abcdef0'),
      vpc: ec2.Vpc.fromVpcAttributes(stack, 'FsxVpc', { vpcId: 'vpc-0aaaaaaaaaaaaaaaa', availabilityZones: ['us-east-1a'] }),
    });
    new HyperPodCluster(stack, 'Cluster', {
      network, storage, controllerGroup: { instanceType: 'ml.m5.xlarge' }, computeGroups: [{ name: 'gpu', instanceType: 'ml.p5.48xlarge', count: 4 }],
    });
    expect(configurationProblems(stack)).toEqual([
      expect.stringMatching(/storage must be in the cluster's VPC Test\/Network\/Vpc.*got a file system in vpc-0aaaaaaaaaaaaaaaa/)]);
  });

  /** The problems `cdk synth` lists after adding these associations. */
  function addAll(...repos: Array<Partial<DataRepositoryOptions>>): string[] {
    const { stack, storage } = build();
    for (const repo of repos) {
      storage.addDataRepository({ fileSystemPath: '/x', bucket: storage.datasetsBucket, ...repo });
    }
    return configurationProblems(stack);
  }

  test('refuses a ninth association', () => {
    const nine = Array.from({ length: 9 }, (_, i) => ({ fileSystemPath: `/d${i}` }));
    expect(addAll(...nine)).toEqual(["Test/Storage: dataRepositories[8] exceeds the limit of 8 data repository associations per file system, got one more for '/d8'"]);
  });

  test('refuses a repeated file-system path', () => {
    expect(addAll({ fileSystemPath: '/data', prefix: 'a' }, { fileSystemPath: '/data', prefix: 'b' })).toEqual(["Test/Storage: dataRepositories.fileSystemPath must not repeat or nest across associations, got '/data' overlapping '/data'"]);
  });

  test('refuses a nested file-system path', () => {
    expect(addAll({ fileSystemPath: '/data', prefix: 'a' }, { fileSystemPath: '/data/sub', prefix: 'b' })).toEqual([expect.stringContaining("got '/data/sub' overlapping '/data'")]);
  });

  test('accepts sibling paths that share a name prefix', () => {
    expect(addAll({ fileSystemPath: '/data' }, { fileSystemPath: '/data2' })).toEqual([]);
  });

  test('refuses a nested S3 prefix in the same bucket', () => {
    expect(addAll({ fileSystemPath: '/a', prefix: 'corpus/' }, { fileSystemPath: '/b', prefix: 'corpus/ja' })).toEqual([expect.stringMatching(/Test\/Storage: dataRepositories.prefix must not repeat or nest within a bucket, got 's3:\/\/.*\/corpus\/ja\/' overlapping 's3:\/\/.*\/corpus\/'/)]);
  });

  test('refuses a path that is not an absolute directory', () => {
    expect(addAll({ fileSystemPath: 'datasets' })).toEqual([
      "Test/Storage/DataRepositorydatasets: fileSystemPath must be an absolute directory such as '/datasets' (letters, digits, _ . -; no trailing slash), got 'datasets'"]);
    expect(addAll({ fileSystemPath: '/datasets/' })).toEqual([expect.stringContaining("got '/datasets/'")]);
  });

  test('refuses an S3 URI given as a prefix (it would become s3://bucket/s3://…)', () => {
    expect(addAll({ prefix: 's3://other-bucket/datasets/' })).toEqual(["Test/Storage/DataRepositoryx: prefix must be a key prefix inside the bucket such as 'datasets/' (not an s3:// URI: "
      + "the bucket is given by bucket), got 's3://other-bucket/datasets/'"]);
  });

  test('refuses a chunk size outside 1-512000 MiB', () => {
    expect(addAll({ importedFileChunkSizeMiB: 0 })).toEqual(['Test/Storage/DataRepositoryx: importedFileChunkSizeMiB must be an integer from 1 to 512000, got 0']);
  });
});
