import { parseArgs, ParseArgsConfig } from 'node:util';
import { nearest } from '../planner/errors';

/** Parsed option values, as node:util parseArgs gives them (`multiple` options as arrays). */
export type Values = Record<string, string | boolean | string[] | undefined>;
export type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * The options of one command, strictly: an unknown option is a parseArgs error that names the nearest known one, and
 * a negative number after an option is its value, so that it reaches the planner's own check.
 */
export function parseOptions(args: readonly string[], options: Options): Values {
  try {
    return parseArgs({ args: withNegativeValues(args, options), options, strict: true, allowPositionals: false })
      .values as Values;
  } catch (e) {
    throw withNearestOption(e, options);
  }
}

/**
 * `--nodes -4` reads as `--nodes=-4`, so that a negative number reaches the planner's own check ("nodes must be a
 * positive integer, got -4") instead of parseArgs' "argument is ambiguous".
 */
function withNegativeValues(args: readonly string[], options: Options): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const name = args[i].startsWith('--') && !args[i].includes('=') ? args[i].slice(2) : undefined;
    const next = args[i + 1];
    if (name !== undefined && options[name]?.type === 'string' && next !== undefined && /^-[\d.]/.test(next)) {
      out.push(`${args[i]}=${next}`);
      i++;
    } else out.push(args[i]);
  }
  return out;
}

/** "Unknown option '--gpuss'" gets " (did you mean '--gpus'?)" when a known option is close. */
function withNearestOption(e: unknown, options: Options): unknown {
  const unknown = (e as { code?: unknown }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION'
    ? /Unknown option '(-[^']*)'/.exec((e as Error).message)?.[1] : undefined;
  if (unknown === undefined) return e;
  const hint = nearest(unknown.replace(/=.*/, ''), Object.keys(options).map((o) => `--${o}`));
  if (hint) (e as Error).message += hint;
  return e;
}

/** node:util parseArgs errors carry an ERR_PARSE_ARGS_* code (checked by code: instanceof fails across realms). */
export function isParseArgsError(e: unknown): boolean {
  const code = (e as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS');
}
