import * as fs from 'fs';
import * as path from 'path';
import { propsReference } from '../../docs/tools/props-reference';

test('docs/reference.md matches the doc comments of the sources (regenerate: npx tsx docs/tools/props-reference.ts)', () => {
  const committed = fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'reference.md'), 'utf8');
  expect(propsReference()).toEqual(committed);
});
