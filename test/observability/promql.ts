/**
 * Metric names in a PromQL expression, for tests that check which series a dashboard query or an alert rule reads:
 * the identifiers left once strings, label sets, ranges, groupings and numbers go, less PromQL's own words.
 */
const PROMQL_WORDS = new Set([
  'sum', 'avg', 'min', 'max', 'count', 'group', 'quantile', 'topk', 'bottomk', 'by', 'without', 'on', 'ignoring',
  'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset', 'rate', 'irate', 'increase', 'changes', 'abs',
  'avg_over_time', 'max_over_time', 'min_over_time', 'count_over_time', 'quantile_over_time', 'scalar', 'vector',
  'sort', 'sort_desc', 'clamp_min', 'clamp_max', 'label_values', 'label_replace', 'time',
]);

export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/#.*$/gm, '')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\boffset\s+\w+/g, '')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '')
    .replace(/,\s*(?:Hostname|cluster|hpc_job)\s*\)/g, ')')
    .replace(/\b\d+(\.\d+)?(e[+-]?\d+)?\b/gi, '');
  return (stripped.match(/[A-Za-z_:][A-Za-z0-9_:]*/g) ?? []).filter((w) => !PROMQL_WORDS.has(w));
}
