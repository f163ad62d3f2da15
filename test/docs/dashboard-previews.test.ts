import * as fs from 'fs';
import * as path from 'path';
import { dashboardPreviews } from '../../docs/tools/dashboard-previews';

test('docs/dashboards/*.svg show the current dashboard layouts (regenerate: npx tsx docs/tools/dashboard-previews.ts)', () => {
  const dir = path.join(__dirname, '..', '..', 'docs', 'dashboards');
  const previews = dashboardPreviews();
  expect(fs.readdirSync(dir).sort()).toEqual([...previews.keys()].sort());
  for (const [name, svg] of previews) expect(fs.readFileSync(path.join(dir, name), 'utf8')).toEqual(svg);
});
