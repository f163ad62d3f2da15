import * as fs from 'fs';
import * as path from 'path';
import { dashboards } from '../observability/dashboard-queries';

// The pictures are drawn from real query results: test/observability/dashboards-prometheus.test.ts runs the
// dashboards against a backfilled Prometheus and fails when a committed picture differs from what
// docs/tools/dashboard-previews.ts draws (regenerate: npx tsx docs/tools/dashboard-previews.ts). Here: one picture per
// shipped dashboard, each shown in docs/observability-dashboards.md.
test('docs/dashboards has a picture of every shipped dashboard, and the dashboards page shows each', () => {
  const root = path.join(__dirname, '..', '..');
  const pictures = fs.readdirSync(path.join(root, 'docs', 'dashboards')).sort();
  const page = fs.readFileSync(path.join(root, 'docs', 'observability-dashboards.md'), 'utf8');
  expect(pictures).toEqual(dashboards().map((d) => `${d.uid}.svg`).sort());
  for (const picture of pictures) expect(page).toContain(`(dashboards/${picture})`);
});
