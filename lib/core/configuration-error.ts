import { IConstruct } from 'constructs';

/**
 * A configuration that cannot work, refused at `cdk synth`.
 *
 * The message names the construct path, the field, what is allowed and what was given, e.g.
 * `TrainingPlatform/Storage: storageCapacityGiB must be 1200 or a multiple of 2400 GiB for PERSISTENT_2, got 3000`.
 */
export class ConfigurationError extends Error {
  /** Path of the construct whose props were rejected. */
  public readonly constructPath: string;
  /** The prop (or dotted path into the props) that was rejected. */
  public readonly field: string;

  constructor(scope: IConstruct | string, field: string, problem: string) {
    // The app itself has an empty path; the planner, which has no construct, names what it checks.
    const path = typeof scope === 'string' ? scope : (scope.node.path || 'App');
    super(`${path}: ${field} ${problem}`);
    this.name = 'ConfigurationError';
    this.constructPath = path;
    this.field = field;
  }
}

/** Constructs whose validation is running in `collectConfigurationErrors` (innermost last). */
const collecting: IConstruct[] = [];

/**
 * Reports a configuration problem of `scope`. Inside `collectConfigurationErrors` it is recorded on the construct
 * tree (`node.addValidation`), so `cdk synth` lists every problem of the app at once and writes no template;
 * elsewhere it throws the ConfigurationError, as before.
 */
export function reportError(scope: IConstruct, field: string, problem: string): void {
  const error = new ConfigurationError(scope, field, problem);
  if (collecting.length === 0) throw error;
  scope.node.addValidation({ validate: () => [error.message] });
}

/**
 * Runs the checks in `validate` so that each `reportError` is recorded instead of thrown: a construct validates
 * all its props, not just up to the first mistake. A thrown ConfigurationError (a prop the construct cannot be
 * built without) still ends construction.
 */
export function collectConfigurationErrors(scope: IConstruct, validate: () => void): void {
  collecting.push(scope);
  try {
    validate();
  } finally {
    collecting.pop();
  }
}

/**
 * Every problem recorded on the tree under `scope` (the validations `cdk synth` runs), one line each, in tree
 * order. Empty when the configuration is valid.
 */
export function configurationProblems(scope: IConstruct): string[] {
  const problems: string[] = [];
  for (const construct of scope.node.findAll()) {
    for (const message of construct.node.validate()) {
      problems.push(message.startsWith(`${construct.node.path}: `) ? message : `${construct.node.path || 'App'}: ${message}`);
    }
  }
  return problems;
}

/**
 * Throws a ConfigurationError unless `value` was given: a required prop missing from plain JavaScript, JSON or
 * `-c` context (TypeScript users get a compile error instead).
 */
export function requireProp<T>(scope: IConstruct, field: string, value: T | undefined | null, expected: string): T {
  if (value === undefined || value === null) throw new ConfigurationError(scope, field, `is required (${expected}), got ${value}`);
  return value;
}
