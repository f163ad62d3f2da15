import { Token } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { reportError } from './configuration-error';

// Each validator reports through `reportError`: thrown, or recorded for `cdk synth` inside
// `collectConfigurationErrors`. Each returns whether the value passed, so a caller can skip checks that need it.

/** Unless `value` is one of `allowed`. Unresolved tokens are skipped (checked by CloudFormation instead). */
export function requireOneOf<T extends string | number>(
  scope: IConstruct, field: string, value: T, allowed: readonly T[],
): boolean {
  if (isToken(value) || allowed.includes(value)) return true;
  if (typeof allowed[0] === 'number' && !requireNumber(scope, field, value)) return false;
  const given = typeof value === typeof allowed[0] ? String(value) : describe(value);
  reportError(scope, field, `must be one of ${allowed.join(', ')}, got ${given}`);
  return false;
}

/** Unless `value` is an integer in [min, max]. Unresolved tokens are skipped. */
export function requireIntegerInRange(
  scope: IConstruct, field: string, value: number, min: number, max: number,
): boolean {
  if (isToken(value)) return true;
  if (!requireNumber(scope, field, value)) return false;
  if (Number.isInteger(value) && value >= min && value <= max) return true;
  reportError(scope, field, `must be an integer from ${min} to ${max}, got ${value}`);
  return false;
}

/** Unless `value` matches `pattern`; `description` says in words what the pattern allows. */
export function requireMatch(
  scope: IConstruct, field: string, value: string, pattern: RegExp, description: string,
): boolean {
  if (isToken(value)) return true;
  if (typeof value !== 'string') {
    reportError(scope, field, `must be ${description}, got ${describe(value)}`);
    return false;
  }
  if (pattern.test(value)) return true;
  reportError(scope, field, `must be ${description}, got '${value}'`);
  return false;
}

/**
 * Unless `value` is a number. Numbers from `-c` context or JSON arrive as strings: say so rather than
 * "must be one of 125, 250, got 250".
 */
export function requireNumber(scope: IConstruct, field: string, value: unknown): boolean {
  if (typeof value === 'number' && !Number.isNaN(value)) return true;
  reportError(scope, field, `must be a number, got ${describe(value)}`);
  return false;
}

/** True for values only known at deploy time (tokens); validators skip them. */
export function isToken(value: unknown): boolean {
  return (typeof value === 'string' || typeof value === 'number') && Token.isUnresolved(value);
}

/** A value with its type when that is what is wrong: `string '250'`, `undefined`, `42`. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return `string '${value}'`;
  if (value === undefined || value === null) return String(value);
  if (typeof value === 'object') return `${Array.isArray(value) ? 'array' : 'object'} ${JSON.stringify(value)}`;
  return String(value);
}
