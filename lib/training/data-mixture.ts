import { PlannerInputError } from '../planner/errors';

/*
 * A training data mixture: tokenized sources with what each holds and how much of the run it makes up, turned into
 * Megatron-LM's weighted `--data-path W1 PREFIX1 W2 PREFIX2 …` (weights are normalised to sum 1 and each sample is
 * drawn from a source with its weight's probability: semantics.md §8, blended_megatron_dataset_builder.py).
 */

/** One tokenized source (`<prefix>.bin` and `.idx` from tools/preprocess_data.py). */
export interface DataSource {
  /** Short name, for the printed mixture. */
  readonly name: string;
  /** Dataset prefix relative to `<fsx>/datasets`, e.g. `swallow-corpus-v2/text_document`. */
  readonly prefix: string;
  /** Tokens the tokenized source holds. */
  readonly tokens: number;
  /**
   * Share of the run, relative to the other weighted sources (they need not sum to 1). Give this or `epochs`.
   * A weighted source may not be asked for more tokens than it holds: give `epochs` to repeat it.
   */
  readonly weight?: number;
  /** Passes over the source (may be fractional, or above 1 to repeat it). Give this or `weight`. */
  readonly epochs?: number;
  /** Where the numbers come from; `illustrative` when the public record does not give the split. */
  readonly note?: string;
}

/** The sources of one run. */
export interface DataMixture {
  readonly sources: readonly DataSource[];
}

/** What the run draws from one source. */
export interface PlannedSource {
  readonly name: string;
  readonly prefix: string;
  /** The weight given to Megatron: planned tokens / run tokens. */
  readonly weight: number;
  readonly plannedTokens: number;
  readonly heldTokens: number;
  readonly epochs: number;
  readonly note?: string;
}

const PREFIX = /^[A-Za-z0-9][A-Za-z0-9._\/-]*$/;

function validateSource(s: DataSource, index: number): void {
  const field = `dataMixture.sources[${index}]`;
  if (!s.name) throw new PlannerInputError(`${field}.name`, 'must be a non-empty name');
  if (!PREFIX.test(s.prefix) || s.prefix.includes('..')) {
    throw new PlannerInputError(`${field}.prefix`, `must be a path relative to <fsx>/datasets (letters, digits, ".", "_", "-", "/"), got '${s.prefix}'`);
  }
  if (!(s.tokens > 0)) throw new PlannerInputError(`${field}.tokens`, `must be the positive number of tokens ${s.name} holds, got ${s.tokens}`);
  if ((s.weight === undefined) === (s.epochs === undefined)) {
    throw new PlannerInputError(`${field}`, `${s.name} must give exactly one of weight and epochs`);
  }
  if (s.weight !== undefined && !(s.weight > 0)) {
    throw new PlannerInputError(`${field}.weight`, `must be greater than 0, got ${s.weight} for ${s.name}`);
  }
  if (s.epochs !== undefined && !(s.epochs > 0)) {
    throw new PlannerInputError(`${field}.epochs`, `must be greater than 0, got ${s.epochs} for ${s.name}`);
  }
}

/**
 * The tokens and epochs of each source for a run of `runTokens`: sources with epochs take epochs × held tokens,
 * weighted sources share the rest by weight. Throws when a source is missing or repeated, a weight is not positive,
 * the epoch sources alone exceed the run (or, without weighted sources, do not fill it to 1 %), or a weighted source
 * would be read more than once.
 */
export function planDataMixture(mixture: DataMixture, runTokens: number): PlannedSource[] {
  if (mixture.sources.length === 0) throw new PlannerInputError('dataMixture.sources', 'must name at least one source');
  mixture.sources.forEach(validateSource);
  const names = new Set<string>();
  for (const s of mixture.sources) {
    if (names.has(s.name)) throw new PlannerInputError('dataMixture.sources', `name ${s.name} twice`);
    names.add(s.name);
  }
  const fixed = mixture.sources.reduce((sum, s) => sum + (s.epochs ?? 0) * s.tokens, 0);
  const weightSum = mixture.sources.reduce((sum, s) => sum + (s.weight ?? 0), 0);
  const rest = runTokens - fixed;
  if (rest < -0.01 * runTokens || (weightSum === 0 && Math.abs(rest) > 0.01 * runTokens)) {
    throw new PlannerInputError('dataMixture', `the sources given in epochs make ${fixed.toExponential(3)} tokens, `
      + `the run ${runTokens.toExponential(3)}${weightSum === 0 ? ': adjust the epochs or weight a source' : ''}`);
  }
  return mixture.sources.map((s) => {
    const plannedTokens = s.epochs !== undefined ? s.epochs * s.tokens : Math.max(0, rest) * (s.weight as number) / weightSum;
    if (s.epochs === undefined && plannedTokens > s.tokens * 1.0001) {
      throw new PlannerInputError('dataMixture', `${s.name} is weighted for ${plannedTokens.toExponential(3)} tokens but holds `
        + `${s.tokens.toExponential(3)}: give its epochs (${(plannedTokens / s.tokens).toFixed(2)}) to repeat it, or lower its weight`);
    }
    return {
      name: s.name, prefix: s.prefix, weight: plannedTokens / runTokens, plannedTokens, heldTokens: s.tokens,
      epochs: plannedTokens / s.tokens, note: s.note,
    };
  });
}

/** Megatron's `--data-path` words: `weight <fsx>/datasets/prefix …`. */
export function dataPathWords(planned: readonly PlannedSource[], datasetsDir: string): string[] {
  return planned.flatMap((p) => [Number(p.weight.toPrecision(6)).toString(), `${datasetsDir}/${p.prefix}`]);
}

function billions(tokens: number): string {
  return `${(tokens / 1e9).toFixed(1)}B`;
}

/** The mixture as a table, one source per line: planned tokens, share, held tokens, epochs. */
export function renderDataMixture(planned: readonly PlannedSource[]): string {
  const rows = planned.map((p) => [p.name, billions(p.plannedTokens), `${(p.weight * 100).toFixed(1)}%`,
    billions(p.heldTokens), p.epochs.toFixed(2), p.note ?? '']);
  const header = ['source', 'tokens', 'share', 'holds', 'epochs', ''];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}
