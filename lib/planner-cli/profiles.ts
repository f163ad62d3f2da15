import { nearest, PlannerInputError } from '../planner/errors';
import { PlanInput, TrainingPlan } from '../planner/plan';
import { PROFILES, TrainingPlatformProfile } from '../platform/profiles';

/*
 * `--profile NAME`: the reference app's profiles (lib/platform/profiles.ts), resolved here, in the CLI, so that the
 * planner itself knows nothing of the platform.
 */

/** The profile names, for messages and `--help`. */
export function profileNames(): string[] {
  return PROFILES.map((p) => p.name);
}

/** The profile called `name`; an input error listing the known ones otherwise. */
export function findProfile(name: string): TrainingPlatformProfile {
  const profile = PROFILES.find((p) => p.name === name);
  if (!profile) {
    throw new PlannerInputError('profile', `must be one of ${profileNames().join(', ')}, got '${name}'`
      + nearest(name, profileNames()));
  }
  return profile;
}

/**
 * What `plan --profile` starts from: the inputs the profile's plan was made with (its run, the settings it was given)
 * or, for a profile sized without a plan, only its compute nodes. Flags given on the command line replace them.
 */
export function profilePlanInput(profile: TrainingPlatformProfile): Partial<PlanInput> {
  const plan = profile.plan;
  if (!plan) return { instanceType: profile.computeInstanceType, nodes: profile.computeNodeCount };
  return {
    model: plan.model, instanceType: plan.instanceType, nodes: plan.nodes, tokens: plan.tokens,
    sequenceLength: plan.sequenceLength, globalBatchSize: plan.globalBatchSize, options: plan.options,
    checkpointsRetained: plan.checkpointsRetained, pinnedLayout: plan.pinnedLayout,
    measuredTflopsPerGpu: plan.measuredTflopsPerGpu,
    // An interval the profile gave (Young/Daly's is recomputed), and a goodput it gave instead of the model's.
    checkpointIntervalMinutes: givenInterval(plan),
    goodput: plan.goodput === plan.goodputModel.goodput ? undefined : plan.goodput,
  };
}

function givenInterval(plan: TrainingPlan): number | undefined {
  return plan.goodputModel.youngDaly ? undefined : plan.checkpointIntervalMinutes;
}
