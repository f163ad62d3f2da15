// Checks the issue "a library a platform team adopts as is" found silent, on constructs whose own suites belong to
// other areas: each asserts the message a user sees at synth.
import { configurationProblems, HyperPodCluster, TrainingNetwork } from '../../lib';
import { testStack } from '../util';

describe('HyperPodCluster: a malformed training plan ARN fails the synth with our message, not CloudFormation\'s', () => {
  function cluster(trainingPlanArn: string): string[] {
    const stack = testStack();
    const network = new TrainingNetwork(stack, 'Network', { plannedNodes: [{ instanceType: 'ml.p5.48xlarge', count: 2 }] });
    new HyperPodCluster(stack, 'Cluster', {
      network, controllerGroup: { instanceType: 'ml.m5.xlarge' },
      computeGroups: [{ name: 'gpu', instanceType: 'ml.p5.48xlarge', count: 2, trainingPlanArn }],
    });
    return configurationProblems(stack);
  }

  test('a plan name instead of its ARN', () => {
    expect(cluster('my-plan')).toEqual(["Test/Cluster: computeGroups[0].trainingPlanArn must be a training plan ARN such as "
      + "'arn:aws:sagemaker:us-east-1:123456789012:training-plan/my-plan', got 'my-plan'"]);
  });

  test('an ARN of another resource type', () => {
    expect(cluster('arn:aws:sagemaker:us-east-1:123456789012:cluster/abc')).toEqual([expect.stringMatching(/trainingPlanArn must be a training plan ARN/)]);
  });

  test('a well-formed ARN is accepted', () => {
    expect(cluster('arn:aws:sagemaker:us-east-1:123456789012:training-plan/my-plan')).toEqual([]);
  });
});
