import { ConfigurationError } from '../core/configuration-error';

export { nearest } from '../core/configuration-error';

/**
 * A planner input that cannot be planned: an unknown model, GPU or instance type, or a layout that cannot run
 * (for example TP·PP·CP·DP different from the GPU count). The message says what is allowed; the CLI maps this
 * error to exit code 2. A ConfigurationError without a construct path: `field` names the input.
 */
export class PlannerInputError extends ConfigurationError {
  constructor(field: string, problem: string) {
    super(undefined, field, problem);
    this.name = 'PlannerInputError';
  }
}

/** Throws unless `value` is a positive integer. */
export function requirePositiveInteger(field: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new PlannerInputError(field, `must be a positive integer, got ${value}`);
  }
}

/** Throws unless `value` is a finite number greater than zero. */
export function requirePositive(field: string, value: number): void {
  if (!Number.isFinite(value) || value <= 0) {
    throw new PlannerInputError(field, `must be a number greater than 0, got ${value}`);
  }
}
