// Generates docs/dashboards/<uid>.svg: each shipped Grafana dashboard as an operator would see it on the synthetic
// cluster of test/observability/synthetic-cluster.ts (a 32-node job with stragglers of every kind, a hung job, a
// broken node): every panel where Grafana places it, drawn from the results of its queries against a real
// Prometheus (Debian's, backfilled with promtool). Not a Grafana screenshot (no Grafana runs here): time series as
// lines, stats as numbers, tables as their first rows, in Grafana's dark theme colours.
//   npx tsx docs/tools/dashboard-previews.ts
// test/observability/dashboards-prometheus.test.ts fails when the committed pictures differ from what this draws.
import * as fs from 'fs';
import * as path from 'path';
import { startBackfilledPrometheus } from '../../test/observability/backfilled-prometheus';
import { Dashboard, DashboardPanel, PanelResult, RANGE, runDashboards, TargetResult } from '../../test/observability/dashboard-queries';
import { syntheticCluster } from '../../test/observability/synthetic-cluster';

const COLUMN = 40;
const ROW = 26;
const TOP = 44;
const TEXT = '#ccccdc';
const DIM = '#6e7380';
/** Grafana's classic palette, in its order. */
const PALETTE = ['#73bf69', '#f2cc0c', '#8ab8ff', '#ff780a', '#f2495c', '#5794f2', '#b877d9', '#705da0', '#37872d', '#fade2a'];

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** One SVG per dashboard, named <uid>.svg, from the results of runDashboards(). */
export function dashboardPreviews(results: PanelResult[]): Map<string, string> {
  const byDashboard = new Map<string, { dashboard: Dashboard; panels: PanelResult[] }>();
  for (const r of results) {
    const entry = byDashboard.get(r.dashboard.uid) ?? { dashboard: r.dashboard, panels: [] };
    entry.panels.push(r);
    byDashboard.set(r.dashboard.uid, entry);
  }
  const previews = new Map<string, string>();
  for (const { dashboard, panels } of [...byDashboard.values()].sort((a, b) => a.dashboard.uid.localeCompare(b.dashboard.uid))) {
    previews.set(`${dashboard.uid}.svg`, render(dashboard, panels));
  }
  return previews;
}

function render(dashboard: Dashboard, results: PanelResult[]): string {
  const all = flatten(dashboard.panels);
  const bottom = Math.max(...all.map((p) => p.gridPos.y + p.gridPos.h));
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${24 * COLUMN + 16}" height="${bottom * ROW + TOP + 12}" font-family="Helvetica, Arial, sans-serif">`,
    '<rect width="100%" height="100%" fill="#111217"/>',
    `<text x="8" y="28" fill="${TEXT}" font-size="18">${escape(dashboard.title)}</text>`,
    `<text x="${24 * COLUMN + 8}" y="28" fill="${DIM}" font-size="11" text-anchor="end">synthetic cluster, last ${(RANGE.end - RANGE.start) / 60} minutes</text>`,
    ...all.filter((p) => p.type === 'row').map(rowTitle),
    ...results.map(panel),
    '</svg>',
  ];
  return parts.join('\n') + '\n';
}

function flatten(panels: DashboardPanel[]): DashboardPanel[] {
  return panels.flatMap((p) => [p, ...flatten(p.panels ?? [])]);
}

interface Box { x: number; y: number; w: number; h: number }

function boxOf(p: DashboardPanel): Box {
  return { x: 8 + p.gridPos.x * COLUMN, y: TOP + p.gridPos.y * ROW, w: p.gridPos.w * COLUMN - 6, h: p.gridPos.h * ROW - 6 };
}

function rowTitle(p: DashboardPanel): string {
  const b = boxOf(p);
  return `<text x="${b.x}" y="${b.y + 18}" fill="${TEXT}" font-size="14" font-weight="bold">${escape(p.title)}</text>`;
}

function panel(r: PanelResult): string {
  const b = boxOf(r.panel);
  const title = clip(r.panel.title, b.w - 16, 7);
  const body = r.panel.type === 'timeseries' ? timeseries(r, b) : r.panel.type === 'table' ? table(r, b) : stat(r, b);
  return [
    `<g><rect x="${b.x}" y="${b.y}" width="${b.w}" height="${b.h}" rx="3" fill="#181b1f" stroke="#2c3235"/>`,
    `<text x="${b.x + 8}" y="${b.y + 18}" fill="${TEXT}" font-size="12">${escape(title)}</text>`,
    body,
    '</g>',
  ].join('\n');
}

function clip(text: string, width: number, charWidth: number): string {
  const max = Math.max(3, Math.floor(width / charWidth));
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function legend(format: string | undefined, metric: Record<string, string>): string {
  if (format) return format.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, l: string) => metric[l] ?? '');
  const labels = Object.entries(metric).filter(([k]) => k !== '__name__');
  return labels.length ? labels.map(([k, v]) => `${k}=${v}`).join(', ') : 'value';
}

interface Line { name: string; points: Array<[number, number]>; count: number }

/** Every series of every target as a line; series with the same points are drawn once and counted. */
function lines(r: PanelResult): Line[] {
  const unique = new Map<string, Line>();
  for (const t of r.targets) {
    for (const s of t.range ?? []) {
      const points = s.values.map(([ts, v]) => [ts, Number(v)] as [number, number]).filter(([, v]) => Number.isFinite(v));
      const key = `${t.target.refId}:${JSON.stringify(points)}`;
      const line = unique.get(key);
      if (line) line.count++;
      else unique.set(key, { name: legend(t.target.legendFormat, s.metric), points, count: 1 });
    }
  }
  return [...unique.values()];
}

function timeseries(r: PanelResult, b: Box): string {
  const drawn = lines(r);
  const unit = r.panel.fieldConfig?.defaults?.unit;
  const values = drawn.flatMap((l) => l.points.map(([, v]) => v));
  const min = r.panel.fieldConfig?.defaults?.min ?? Math.min(0, ...values);
  const max = r.panel.fieldConfig?.defaults?.max ?? Math.max(...values, min + 1e-9);
  const span = max - min || 1;
  const legendWidth = Math.min(260, b.w * 0.45);
  const plot = { x: b.x + 52, y: b.y + 28, w: b.w - legendWidth - 64, h: b.h - 46 };
  const px = (t: number) => plot.x + ((t - RANGE.start) / (RANGE.end - RANGE.start)) * plot.w;
  const py = (v: number) => plot.y + plot.h - ((v - min) / span) * plot.h;
  const out = [
    `<line x1="${plot.x}" y1="${plot.y + plot.h}" x2="${plot.x + plot.w}" y2="${plot.y + plot.h}" stroke="#2c3235"/>`,
    `<text x="${plot.x - 4}" y="${plot.y + 8}" fill="${DIM}" font-size="9" text-anchor="end">${escape(format(max, unit))}</text>`,
    `<text x="${plot.x - 4}" y="${plot.y + plot.h}" fill="${DIM}" font-size="9" text-anchor="end">${escape(format(min, unit))}</text>`,
    `<text x="${plot.x}" y="${plot.y + plot.h + 11}" fill="${DIM}" font-size="9">${clock(RANGE.start)}</text>`,
    `<text x="${plot.x + plot.w}" y="${plot.y + plot.h + 11}" fill="${DIM}" font-size="9" text-anchor="end">${clock(RANGE.end)}</text>`,
  ];
  // The many healthy series first, the few that stand out on top, as the eye reads them.
  const order = [...drawn].sort((a, c) => c.count - a.count);
  order.forEach((l, i) => {
    const colour = PALETTE[i % PALETTE.length];
    const pts = l.points.map(([t, v]) => `${px(t).toFixed(1)},${py(v).toFixed(1)}`).join(' ');
    out.push(`<polyline fill="none" stroke="${colour}" stroke-width="1.2" points="${pts}"/>`);
  });
  const rows = Math.max(1, Math.floor((b.h - 34) / 13));
  order.slice(0, rows).forEach((l, i) => {
    const last = l.points.length ? format(l.points[l.points.length - 1][1], unit) : '';
    const name = l.count > 1 ? `${l.name} (+${l.count - 1} alike)` : l.name;
    const y = b.y + 36 + i * 13;
    out.push(`<rect x="${b.x + b.w - legendWidth}" y="${y - 7}" width="8" height="3" fill="${PALETTE[i % PALETTE.length]}"/>`,
      `<text x="${b.x + b.w - legendWidth + 12}" y="${y}" fill="${TEXT}" font-size="9">${escape(clip(name, legendWidth - 60, 5))}</text>`,
      `<text x="${b.x + b.w - 6}" y="${y}" fill="${DIM}" font-size="9" text-anchor="end">${escape(last)}</text>`);
  });
  if (order.length > rows) {
    out.push(`<text x="${b.x + b.w - legendWidth + 12}" y="${b.y + 36 + rows * 13}" fill="${DIM}" font-size="9">… ${order.length - rows} more</text>`);
  }
  return out.join('\n');
}

/** UTC hours and minutes, as Grafana's time axis. */
function clock(seconds: number): string {
  return new Date(seconds * 1000).toISOString().slice(11, 16);
}

/** Stats show the last value of each series, as Grafana's "lastNotNull". */
function stat(r: PanelResult, b: Box): string {
  const unit = r.panel.fieldConfig?.defaults?.unit;
  const values = r.targets.flatMap((t) => (t.range ?? []).map((s) => ({
    name: legend(t.target.legendFormat, s.metric), value: Number(s.values[s.values.length - 1]?.[1]),
  })));
  const shown = values.slice(0, 4);
  const mapped = (v: number) => mapping(r.panel, v) ?? format(v, unit);
  const size = shown.length > 1 ? 16 : Math.min(30, b.h / 3);
  return shown.map((v, i) => {
    const y = b.y + 30 + ((b.h - 36) / shown.length) * (i + 0.5) + size / 3;
    const label = shown.length > 1 && v.name !== 'value' ? `${v.name}: ` : '';
    return `<text x="${b.x + b.w / 2}" y="${y.toFixed(1)}" fill="#73bf69" font-size="${size.toFixed(0)}" text-anchor="middle">${escape(label + mapped(v.value))}</text>`;
  }).join('\n');
}

/** The text of a value mapping (fieldConfig.defaults.mappings, type value) for v, if the panel has one. */
function mapping(p: DashboardPanel, v: number): string | undefined {
  const mappings = (p.fieldConfig?.defaults as { mappings?: Array<{ type: string; options: Record<string, { text?: string }> }> })?.mappings ?? [];
  return mappings.filter((m) => m.type === 'value').map((m) => m.options[String(v)]?.text).find((t) => t !== undefined);
}

interface Column { name: string; label?: string; target?: TargetResult; unit?: string }

/** Tables as Grafana's merge + organize transformations build them: one row per label set, a column per target. */
function table(r: PanelResult, b: Box): string {
  const organize = r.panel.transformations?.find((t) => t.id === 'organize')?.options ?? {};
  const rename = organize.renameByName ?? {};
  const units = new Map<string, string>();
  for (const o of (r.panel.fieldConfig as { overrides?: Array<{ matcher: { options: string }; properties: Array<{ id: string; value: unknown }> }> })?.overrides ?? []) {
    const unit = o.properties.find((p) => p.id === 'unit');
    if (unit) units.set(o.matcher.options, String(unit.value));
  }
  const [ranking] = r.targets;
  const order = (organize as { indexByName?: Record<string, number> }).indexByName ?? {};
  const labelNames = [...new Set((ranking.instant ?? []).flatMap((s) => Object.keys(s.metric)))].filter((l) => l !== '__name__')
    .sort((a, c) => (order[a] ?? 99) - (order[c] ?? 99) || a.localeCompare(c));
  const valueKey = (i: number) => (r.targets.length > 1 ? `Value #${r.targets[i].target.refId}` : 'Value');
  const columns: Column[] = [
    ...labelNames.map((l) => ({ name: l, label: l })),
    ...r.targets.map((t, i) => ({ name: rename[valueKey(i)] ?? valueKey(i), target: t, unit: units.get(rename[valueKey(i)] ?? '') })),
  ];
  // One row per series of the first target, other targets joined on their shared labels. Sorted as Grafana sorts
  // the table (options.sortBy), ties by their labels: Prometheus returns equal values in no fixed order.
  const raw = (ranking.instant ?? []).map((s) => columns.map((c) => {
    if (c.label) return s.metric[c.label] ?? '';
    const match = c.target!.instant?.find((o) => Object.entries(o.metric).every(([k, v]) => k === '__name__' || s.metric[k] === undefined || s.metric[k] === v));
    return match ? Number(match.value[1]) : '';
  }));
  const sortBy = r.panel.options?.sortBy?.[0];
  const key = Math.max(0, columns.findIndex((c) => c.name === sortBy?.displayName && !c.label));
  const sortKey = columns[key].label ? labelNames.length : key;
  const labelsOf = (row: Array<string | number>) => row.slice(0, labelNames.length).join('\u0000');
  raw.sort((a, c) => {
    const [x, y] = [Number(a[sortKey]), Number(c[sortKey])];
    const byValue = Number.isNaN(x) || Number.isNaN(y) || x === y ? 0 : (x < y ? -1 : 1) * (sortBy?.desc ? -1 : 1);
    return byValue || labelsOf(a).localeCompare(labelsOf(c));
  });
  const rows = raw.map((row) => row.map((v, i) => (typeof v === 'number' ? format(v, columns[i].unit) : v)));
  const maxRows = Math.max(1, Math.floor((b.h - 44) / 14));
  // Columns as wide as their longest cell (5 px a character); when the panel is narrower, the widest give way first.
  const wanted = columns.map((c, i) => 5 * Math.max(c.name.length, ...rows.slice(0, maxRows).map((row) => row[i].length)) + 10);
  const widths = fitWidths(wanted, b.w - 16);
  const left = widths.map((_, i) => b.x + 8 + widths.slice(0, i).reduce((a, w) => a + w, 0));
  const cell = (text: string, i: number, y: number, colour: string) =>
    `<text x="${left[i].toFixed(1)}" y="${y}" fill="${colour}" font-size="9">${escape(clip(text, widths[i] - 6, 5))}</text>`;
  const out = columns.map((c, i) => cell(c.name, i, b.y + 36, '#8ab8ff'));
  rows.slice(0, maxRows).forEach((row, j) => row.forEach((text, i) => out.push(cell(text, i, b.y + 50 + j * 14, TEXT))));
  if (rows.length > maxRows) out.push(`<text x="${b.x + 8}" y="${b.y + b.h - 4}" fill="${DIM}" font-size="9">… ${rows.length - maxRows} more rows</text>`);
  return out.join('\n');
}

/** Widths within `available`: each column its wanted width, capped at the one cap that makes them fit. */
function fitWidths(wanted: number[], available: number): number[] {
  if (wanted.reduce((a, w) => a + w, 0) <= available) return wanted;
  let cap = available / wanted.length;
  for (const w of [...wanted].sort((a, c) => a - c)) {
    const narrower = wanted.filter((x) => x <= w);
    const next = (available - narrower.reduce((a, x) => a + x, 0)) / (wanted.length - narrower.length);
    if (next < w) break;
    cap = next;
  }
  return wanted.map((w) => Math.min(w, cap));
}

const SI = ['', 'k', 'M', 'G', 'T', 'P'];
const IEC = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** A value in a Grafana unit, as Grafana would roughly print it. */
export function format(v: number, unit: string | undefined): string {
  if (!Number.isFinite(v)) return String(v);
  const round = (x: number) => {
    const text = Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2);
    return text.includes('.') ? text.replace(/\.?0+$/, '') : text;
  };
  const scaled = (x: number, base: number, names: string[], suffix: string) => {
    let i = 0;
    while (Math.abs(x) >= base && i < names.length - 1) { x /= base; i++; }
    return `${round(x)} ${names[i]}${suffix}`;
  };
  switch (unit) {
    case 'percent': return `${round(v)}%`;
    case 'percentunit': return `${round(v * 100)}%`;
    case 'celsius': return `${round(v)} °C`;
    case 'watt': return scaled(v, 1000, ['W', 'kW', 'MW'], '');
    case 'rotmhz': return `${round(v)} MHz`;
    case 'Bps': return scaled(v, 1000, SI.map((p) => `${p}B`), '/s');
    case 'bytes': return scaled(v, 1024, IEC, '');
    case 'pps': return scaled(v, 1000, SI.map((p) => `${p}p`), '/s').replace(' p/s', ' p/s');
    case 's': return v >= 3600 ? `${round(v / 3600)} h` : v >= 60 ? `${round(v / 60)} min` : `${round(v)} s`;
    default: return scaled(v, 1000, SI, '').trim();
  }
}

async function main(): Promise<void> {
  const prometheus = await startBackfilledPrometheus(syntheticCluster());
  try {
    const dir = path.join(__dirname, '..', 'dashboards');
    fs.mkdirSync(dir, { recursive: true });
    for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.svg'))) fs.rmSync(path.join(dir, f));
    for (const [name, svg] of dashboardPreviews(await runDashboards(prometheus))) fs.writeFileSync(path.join(dir, name), svg);
  } finally {
    await prometheus.stop();
  }
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
