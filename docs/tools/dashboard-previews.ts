// Generates docs/dashboards/<uid>.svg: the layout of each shipped Grafana dashboard (rows and panels where Grafana
// places them, with their titles and kinds). A layout preview, not a screenshot: no Grafana runs here.
//   npx tsx docs/tools/dashboard-previews.ts
// test/docs/dashboard-previews.test.ts fails when a dashboard changes and its preview does not.
import * as fs from 'fs';
import * as path from 'path';
import { DASHBOARDS_DIR } from '../../lib/observability/grafana-dashboards';

interface Panel { readonly type: string; readonly title: string; readonly gridPos: { x: number; y: number; w: number; h: number } }
interface Dashboard { readonly uid: string; readonly title: string; readonly panels: Panel[] }

const COLUMN = 40;
const ROW = 26;
const KIND: Record<string, string> = { timeseries: 'time series', stat: 'stat', table: 'table', gauge: 'gauge', bargauge: 'bar gauge', heatmap: 'heatmap' };

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function dashboardPreviews(): Map<string, string> {
  const previews = new Map<string, string>();
  for (const file of fs.readdirSync(DASHBOARDS_DIR).filter((f) => f.endsWith('.json')).sort()) {
    const dashboard: Dashboard = JSON.parse(fs.readFileSync(path.join(DASHBOARDS_DIR, file), 'utf8'));
    previews.set(`${dashboard.uid}.svg`, render(dashboard));
  }
  return previews;
}

function render(dashboard: Dashboard): string {
  const bottom = Math.max(...dashboard.panels.map((p) => p.gridPos.y + p.gridPos.h));
  const width = 24 * COLUMN + 16;
  const height = bottom * ROW + 56;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="Helvetica, Arial, sans-serif">`,
    `<rect width="100%" height="100%" fill="#111217"/>`,
    `<text x="8" y="28" fill="#ccccdc" font-size="18">${escape(dashboard.title)}</text>`,
    ...dashboard.panels.map(panel),
    '</svg>',
  ];
  return parts.join('\n') + '\n';
}

function panel(p: Panel): string {
  const x = 8 + p.gridPos.x * COLUMN;
  const y = 44 + p.gridPos.y * ROW;
  const w = p.gridPos.w * COLUMN - 6;
  const h = p.gridPos.h * ROW - 6;
  if (p.type === 'row') {
    return `<text x="${x}" y="${y + 18}" fill="#ccccdc" font-size="14" font-weight="bold">${escape(p.title)}</text>`;
  }
  const title = escape(p.title.length > w / 7 ? `${p.title.slice(0, Math.floor(w / 7) - 1)}…` : p.title);
  return [
    `<rect x="${x}" y="${y}" width="${w}" height="${h}" rx="3" fill="#181b1f" stroke="#2c3235"/>`,
    `<text x="${x + 8}" y="${y + 18}" fill="#ccccdc" font-size="12">${title}</text>`,
    `<text x="${x + 8}" y="${y + h - 8}" fill="#6e7380" font-size="10">${escape(KIND[p.type] ?? p.type)}</text>`,
  ].join('\n');
}

if (require.main === module) {
  const dir = path.join(__dirname, '..', 'dashboards');
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, svg] of dashboardPreviews()) fs.writeFileSync(path.join(dir, name), svg);
}
