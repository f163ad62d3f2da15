// aws-cdk-lib's built-in CloudFormation validation costs seconds per synth; the suites that test it turn it on.
process.env.CDK_VALIDATION = 'false';
