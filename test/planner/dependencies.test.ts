import { readdirSync, readFileSync, statSync } from 'fs';
import { dirname, join, relative, resolve } from 'path';

/*
 * The direction of dependencies: lib/catalog (shared facts) at the bottom, the pure planner on it, the CLI and the
 * constructs above. Read from the import statements of the sources, so a new import that breaks it fails here.
 */

const LIB = resolve(__dirname, '..', '..', 'lib');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** What a file imports: `from '…'`, `import '…'`, `import('…')` and `require('…')`, type-only imports included. */
function specifiers(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const pattern = /(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)['"]([^'"]+)['"]/g;
  return [...text.matchAll(pattern)].map((m) => m[1]);
}

/** Each import of the files under `folder`, as a path relative to lib/ (`catalog/gpus`) or the package name. */
function importsOf(folder: string): Array<{ file: string; target: string }> {
  return sources(join(LIB, folder)).flatMap((file) => specifiers(file).map((spec) => ({
    file: relative(LIB, file),
    target: spec.startsWith('.') ? relative(LIB, resolve(dirname(file), spec)) : `package:${spec}`,
  })));
}

const topFolder = (target: string) => target.split('/')[0];

describe('dependency direction', () => {
  test('the scan sees the imports it checks', () => {
    expect(importsOf('planner').some((i) => i.target === 'catalog/gpus')).toBe(true);
    expect(importsOf('planner-cli').some((i) => i.target === 'training/megatron-launch')).toBe(true);
  });

  test('lib/catalog imports nothing outside itself (no package either)', () => {
    expect(importsOf('catalog').filter((i) => topFolder(i.target) !== 'catalog')).toEqual([]);
  });

  // The one exception: the library's one error type (PlannerInputError extends ConfigurationError), from a module
  // whose only import is a type, erased at compile time: the planner still loads no CDK and no platform code.
  const ERROR_TYPE = 'core/configuration-error';

  test('lib/planner imports only lib/catalog, itself and the error type: no platform, training, CLI, CDK or Node module', () => {
    expect(importsOf('planner').filter((i) => !['planner', 'catalog'].includes(topFolder(i.target)) && i.target !== ERROR_TYPE))
      .toEqual([]);
  });

  test('the error type\'s module imports types only', () => {
    const imports = readFileSync(join(LIB, `${ERROR_TYPE}.ts`), 'utf8').split('\n').filter((l) => /^import\b/.test(l));
    expect(imports.filter((l) => !/^import type /.test(l))).toEqual([]);
  });

  test.each(['core', 'network', 'storage', 'cluster', 'inference', 'observability'])(
    'lib/%s does not import the planner or its CLI', (folder) => {
      expect(importsOf(folder).filter((i) => ['planner', 'planner-cli'].includes(topFolder(i.target)))).toEqual([]);
    });

  test('only the CLI itself imports lib/planner-cli', () => {
    const folders = readdirSync(LIB).filter((f) => f !== 'planner-cli' && statSync(join(LIB, f)).isDirectory());
    expect(folders.flatMap(importsOf).filter((i) => topFolder(i.target) === 'planner-cli')).toEqual([]);
  });
});
