/** Text formatting for the CLI's human-readable output. */

/** Column alignment: text left, numbers right. */
export enum Align {
  LEFT = 'left',
  RIGHT = 'right',
}

/** Rows as an aligned table, two spaces between columns; the first row is the header, underlined. */
export function table(rows: readonly string[][], align: readonly Align[]): string {
  const widths = align.map((_, col) => Math.max(...rows.map((r) => (r[col] ?? '').length)));
  const line = (r: readonly string[]) => r.map((cell, col) => (align[col] === Align.RIGHT
    ? cell.padStart(widths[col]) : cell.padEnd(widths[col]))).join('  ').trimEnd();
  const [header, ...body] = rows;
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/** Label/value/unit lines, labels and values aligned. */
export function keyValues(rows: ReadonlyArray<readonly [string, string, string?]>): string {
  const labelWidth = Math.max(...rows.map(([label]) => label.length));
  const valueWidth = Math.max(...rows.map(([, value]) => value.length));
  return rows.map(([label, value, unit]) => `  ${label.padEnd(labelWidth)}  ${value.padStart(valueWidth)}`
    + (unit ? `  ${unit}` : '')).join('\n');
}

/** A number with a fixed count of decimals and thousands separators. */
export function num(value: number, decimals = 0): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

/** A share as a percentage. */
export function pct(share: number, decimals = 1): string {
  return `${(share * 100).toFixed(decimals)}%`;
}

/** Seconds as "82 s", "28.1 min" or "3.2 h". */
export function duration(seconds: number): string {
  if (seconds < 120) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  if (seconds < 7200) return `${(seconds / 60).toFixed(1)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}
