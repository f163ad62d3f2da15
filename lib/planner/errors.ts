import { ConfigurationError } from '../core/configuration-error';

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

/** " (did you mean 'x'?)" for the known id closest to `value` by edit distance, when it is close; else "". */
export function nearest(value: string, known: readonly string[]): string {
  const wanted = value.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const id of known) {
    const d = editDistance(wanted, id.toLowerCase());
    if (d < bestDistance) { best = id; bestDistance = d; }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(wanted.length / 3))
    ? ` (did you mean '${best}'?)` : '';
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
