/**
 * The groups and rules of a rendered rules file (lib/observability/rules/training-alerts.yaml through
 * renderAlertRules()), read line by line in the one shape that file keeps: groups at `  - name:`, rules at
 * `      - record:` / `      - alert:`, `expr:` inline or as a `|` block. Any other line is an error, so a change
 * of shape fails the tests that read rules through this instead of hiding rules from them.
 */

export interface Rule {
  readonly kind: 'record' | 'alert';
  readonly name: string;
  readonly expr: string;
}

export interface RuleGroup {
  readonly name: string;
  /** The group's `interval`, when it sets one. */
  readonly interval?: string;
  readonly rules: Rule[];
}

/** Indentation of the lines a block (`expr: |`, `labels:`, `annotations:`) holds. */
const BLOCK_INDENT = 10;

interface Building { name: string; interval?: string; rules: Array<{ kind: 'record' | 'alert'; name: string; expr?: string }> }

export function parseRuleGroups(text: string): RuleGroup[] {
  const groups: Building[] = [];
  const lines = text.split('\n');
  const start = lines.indexOf('groups:');
  if (start < 0 || lines.slice(0, start).some((l) => l.trim() !== '' && !l.startsWith('#'))) {
    throw new Error('rules file: expected comments, then "groups:"');
  }
  let block: 'expr' | 'map' | undefined;
  lines.slice(start + 1).forEach((line, i) => {
    const group = groups[groups.length - 1];
    const rule = group?.rules[group.rules.length - 1];
    if (block && (line.trim() === '' || indent(line) >= BLOCK_INDENT)) {
      if (block === 'expr') rule!.expr = rule!.expr === '' ? line.trim() : `${rule!.expr}\n${line.trim()}`;
      return;
    }
    block = undefined;
    if (line.trim() === '' || line.trim().startsWith('#')) return;
    let m: RegExpExecArray | null;
    if ((m = /^ {2}- name: (\S+)$/.exec(line))) groups.push({ name: m[1], rules: [] });
    else if (group && !rule && (m = /^ {4}interval: (\S+)$/.exec(line))) group.interval = m[1];
    else if (group && !rule && line === '    rules:') return;
    else if (group && (m = /^ {6}- (record|alert): (\S+)$/.exec(line))) group.rules.push({ kind: m[1] as 'record' | 'alert', name: m[2] });
    else if (rule && rule.expr === undefined && line === '        expr: |') { rule.expr = ''; block = 'expr'; }
    else if (rule && rule.expr === undefined && (m = /^ {8}expr: (.+)$/.exec(line))) rule.expr = m[1];
    else if (rule && /^ {8}(for|keep_firing_for): \S+$/.test(line)) return;
    else if (rule && /^ {8}(labels|annotations):$/.test(line)) block = 'map';
    else throw new Error(`rules file line ${start + 2 + i}: unexpected ${JSON.stringify(line)}`);
  });
  return groups.map((g) => ({
    ...g,
    rules: g.rules.map((r) => {
      if (!r.expr) throw new Error(`rules file: ${r.kind} ${r.name} in group ${g.name} has no expr`);
      return { kind: r.kind, name: r.name, expr: r.expr };
    }),
  }));
}

function indent(line: string): number {
  return line.length - line.trimStart().length;
}

/**
 * Every rule that reads a recorded series it cannot rely on, as "<rule> (group <g>) reads <series>, recorded …".
 * AMP evaluates a group's rules top to bottom, and the order of groups not at all (AMP user guide, "Using rules to
 * modify or monitor metrics as they are received", section "Rule order",
 * https://docs.aws.amazon.com/prometheus/latest/userguide/AMP-Ruler.html): a recorded series may be read only by
 * the rules below its recording rule in the same group. A read is the series' name as a whole token anywhere in
 * the expression but its `#` comments (a `{__name__="…"}` selector counts).
 */
export function recordedSeriesReadOutOfOrder(groups: RuleGroup[]): string[] {
  // A name may be recorded by several rules (one per label set): every one of them must come before the read.
  const recorded = new Map<string, Array<{ group: string; index: number }>>();
  groups.forEach((g) => g.rules.forEach((r, index) => {
    if (r.kind === 'record') recorded.set(r.name, [...recorded.get(r.name) ?? [], { group: g.name, index }]);
  }));
  return groups.flatMap((g) => g.rules.flatMap((r, index) => seriesNamed(r.expr, [...recorded.keys()]).flatMap((series) =>
    recorded.get(series)!.flatMap((at) => {
      let where: string;
      if (at.group !== g.name) where = `in group ${at.group}`;
      else if (at.index === index) where = 'by itself';
      else if (at.index > index) where = 'further down its group';
      else return [];
      return [`${r.name} (group ${g.name}) reads ${series}, recorded ${where}`];
    }))));
}

/** The names of `names` (metric names: letters, digits, `_`, `:`) that occur in `expr` as whole tokens, outside `#` comments. */
function seriesNamed(expr: string, names: string[]): string[] {
  const code = expr.replace(/("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)|#.*$/gm, (_, quoted?: string) => quoted ?? '');
  return names.filter((n) => new RegExp(`(?<![A-Za-z0-9_:])${n}(?![A-Za-z0-9_:])`).test(code));
}
