import * as fs from 'fs';
import * as path from 'path';
import { architectureDot } from '../../docs/tools/architecture-diagram';

test('docs/architecture.dot is the diagram of the current reference stack (regenerate: see docs/tools/architecture-diagram.ts)', () => {
  const committed = fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'architecture.dot'), 'utf8');
  expect(architectureDot()).toEqual(committed);
});
