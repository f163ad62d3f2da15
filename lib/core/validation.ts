import { Token } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { ConfigurationError } from './configuration-error';

/** Throws unless `value` is one of `allowed`. Unresolved tokens are skipped (checked by CloudFormation instead). */
export function requireOneOf<T extends string | number>(
  scope: IConstruct, field: string, value: T, allowed: readonly T[],
): void {
  if (isToken(value) || allowed.includes(value)) return;
  throw new ConfigurationError(scope, field, `must be one of ${allowed.join(', ')}, got ${value}`);
}

/** Throws unless `value` is an integer in [min, max]. Unresolved tokens are skipped. */
export function requireIntegerInRange(
  scope: IConstruct, field: string, value: number, min: number, max: number,
): void {
  if (isToken(value)) return;
  if (Number.isInteger(value) && value >= min && value <= max) return;
  throw new ConfigurationError(scope, field, `must be an integer from ${min} to ${max}, got ${value}`);
}

/** Throws unless `value` matches `pattern`; `description` says in words what the pattern allows. */
export function requireMatch(
  scope: IConstruct, field: string, value: string, pattern: RegExp, description: string,
): void {
  if (isToken(value) || pattern.test(value)) return;
  throw new ConfigurationError(scope, field, `must be ${description}, got '${value}'`);
}

/** True for values only known at deploy time (tokens); validators skip them. */
export function isToken(value: unknown): boolean {
  return (typeof value === 'string' || typeof value === 'number') && Token.isUnresolved(value);
}
