import type { IConstruct } from 'constructs';

/**
 * A configuration that cannot work, refused at `cdk synth`: the one error type of this library, thrown by
 * constructs, by the planner (`PlannerInputError`, a subclass) and by the launch-rule builders.
 *
 * The message names the construct path, the field, what is allowed and what was given, e.g.
 * `TrainingPlatform/Storage: storageCapacityGiB must be 1200 or a multiple of 2400 GiB for PERSISTENT_2, got 3000`.
 * An input that belongs to no construct (a planner input) has no path: `tp must be a positive integer, got 0`.
 */
export class ConfigurationError extends Error {
  /**
   * Path of the construct whose props were rejected.
   * @default - none, for an input that belongs to no construct (the planner's)
   */
  public readonly constructPath?: string;
  /** The prop or input (or dotted path into it) that was rejected. */
  public readonly field: string;

  constructor(scope: IConstruct | string | undefined, field: string, problem: string) {
    // The app itself has an empty path.
    const path = typeof scope === 'object' ? (scope.node.path || 'App') : scope;
    super(path === undefined ? `${field} ${problem}` : `${path}: ${field} ${problem}`);
    this.name = 'ConfigurationError';
    this.constructPath = path;
    this.field = field;
  }
}

/** Problems recorded by the innermost running `collectConfigurationErrors` (innermost last). */
const collecting: ConfigurationError[][] = [];

/**
 * Reports a configuration problem of `scope`. Inside `collectConfigurationErrors` it is collected, so a construct
 * validates all its props, not just up to the first mistake; elsewhere it throws the ConfigurationError, as before.
 */
export function reportError(scope: IConstruct, field: string, problem: string): void {
  const error = new ConfigurationError(scope, field, problem);
  const current = collecting[collecting.length - 1];
  if (!current) throw error;
  current.push(error);
}

/** What `collectConfigurationErrors` does with the problems it collected. */
export enum CollectedErrors {
  /**
   * Record them on the construct tree (`node.addValidation`): `cdk synth` lists every problem of the app at once
   * and writes no template. For constructs that can be built from the invalid values.
   */
  RECORD = 'RECORD',
  /**
   * Throw them together as one ConfigurationError, one line per problem: for constructs whose building blocks
   * (e.g. aws-cdk-lib L2s) would fail on the invalid values with a message of their own.
   */
  THROW = 'THROW',
}

/**
 * Runs the checks in `validate`, collecting each `reportError`, then records or throws them. A ConfigurationError
 * thrown directly (a prop the construct cannot be built without) still ends construction at once.
 */
export function collectConfigurationErrors(scope: IConstruct, validate: () => void, mode = CollectedErrors.RECORD): void {
  const problems: ConfigurationError[] = [];
  collecting.push(problems);
  try {
    validate();
  } finally {
    collecting.pop();
  }
  if (problems.length === 0) return;
  if (mode === CollectedErrors.THROW) throw new ConfigurationErrors(problems);
  for (const problem of problems) scope.node.addValidation({ validate: () => [problem.message] });
}

/** Several problems of one construct, thrown together: the message has one line per problem. */
export class ConfigurationErrors extends ConfigurationError {
  /** Each problem, in the order found. */
  public readonly errors: readonly ConfigurationError[];

  constructor(errors: readonly ConfigurationError[]) {
    super(errors[0].constructPath, errors[0].field, '');
    this.message = errors.map((e) => e.message).join('\n');
    this.name = 'ConfigurationError';
    this.errors = errors;
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

/** The known id closest to `value` by edit distance, ignoring case (undefined when `known` is empty). */
export function closest(value: string, known: readonly string[]): { id: string; distance: number } | undefined {
  const wanted = value.toLowerCase();
  let best: { id: string; distance: number } | undefined;
  for (const id of known) {
    const distance = editDistance(wanted, id.toLowerCase());
    if (!best || distance < best.distance) best = { id, distance };
  }
  return best;
}

/** " (did you mean 'x'?)" for the known id closest to `value`, when it is close enough to be a typo; else "". */
export function nearest(value: string, known: readonly string[]): string {
  const best = closest(value, known);
  return best && best.distance <= Math.max(2, Math.floor(value.length / 3)) ? ` (did you mean '${best.id}'?)` : '';
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = row;
  }
  return previous[b.length];
}
