// Every TypeScript snippet of README.md and docs/*.md, type-checked against the public API in one program.
// The convention (README, "Development"):
// - a ```ts or ```typescript block is compiled, unless the line before its fence is `<!-- not-compiled: reason -->`;
// - it is the body of a constructor of a Stack subclass: `this` is the stack;
// - names of `cdk-hyperpod-training` and of `aws-cdk-lib`'s root (Duration, RemovalPolicy…) that it does not import
//   are imported for it; anything else (aws-cdk-lib/aws-s3…) it imports itself;
// - the names in SNIPPET_CONTEXT stand for things built elsewhere (an earlier snippet, the user's app) unless the
//   snippet declares them.
// `cdk-hyperpod-training` resolves to lib/index.ts, and every import path a snippet uses must be in the package's
// `exports` map.
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';
import { API_COMPILER_OPTIONS } from '../api-compiler-options';

const ROOT = path.join(__dirname, '..', '..');
const PACKAGE = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const NOT_COMPILED = /^<!--\s*not-compiled:\s*\S.*-->\s*$/;

/** Things a fragment may use without building them, with their types. */
export const SNIPPET_CONTEXT: Record<string, string> = {
  vpc: "import('aws-cdk-lib/aws-ec2').IVpc",
  network: "import('cdk-hyperpod-training').TrainingNetwork",
  storage: "import('cdk-hyperpod-training').LustreStorage",
  observability: "import('cdk-hyperpod-training').TrainingObservability",
  cluster: "import('cdk-hyperpod-training').HyperPodCluster",
  wandbSecret: "import('aws-cdk-lib/aws-secretsmanager').ISecret",
  captureBucket: "import('aws-cdk-lib/aws-s3').IBucket",
  appRole: "import('aws-cdk-lib/aws-iam').IRole",
};

interface Snippet {
  /** e.g. `docs/cluster.md`. */
  readonly doc: string;
  /** Line of the first code line in the doc (1-based). */
  readonly line: number;
  readonly code: string;
}

/** The ```ts / ```typescript blocks of a Markdown file, and the ones marked not-compiled (with their reasons). */
export function extractSnippets(doc: string, text: string): { compiled: Snippet[]; skipped: string[] } {
  const lines = text.split('\n');
  const compiled: Snippet[] = [];
  const skipped: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(ts|typescript)\s*$/.test(lines[i])) continue;
    const end = lines.findIndex((l, j) => j > i && /^```\s*$/.test(l));
    if (end < 0) throw new Error(`${doc}:${i + 1}: unterminated code block`);
    if (i > 0 && NOT_COMPILED.test(lines[i - 1])) skipped.push(`${doc}:${i + 1}`);
    else compiled.push({ doc, line: i + 2, code: lines.slice(i + 1, end).join('\n') });
    i = end;
  }
  return { compiled, skipped };
}

function docFiles(): string[] {
  const docs = fs.readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`);
  return ['README.md', ...docs];
}

/** Names a snippet binds itself (imports and top-level declarations): the harness must not add them. */
function boundNames(source: ts.SourceFile): Set<string> {
  const names = new Set<string>();
  for (const statement of source.statements) {
    if (ts.isImportDeclaration(statement)) {
      const clause = statement.importClause;
      if (clause?.name) names.add(clause.name.text);
      const bindings = clause?.namedBindings;
      if (bindings && ts.isNamespaceImport(bindings)) names.add(bindings.name.text);
      if (bindings && ts.isNamedImports(bindings)) bindings.elements.forEach((e) => names.add(e.name.text));
    } else if (ts.isVariableStatement(statement)) {
      for (const d of statement.declarationList.declarations) if (ts.isIdentifier(d.name)) names.add(d.name.text);
    } else if ((ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement)) && statement.name) {
      names.add(statement.name.text);
    }
  }
  return names;
}

function usedIdentifiers(source: ts.SourceFile): Set<string> {
  const used = new Set<string>();
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node)) used.add(node.text);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return used;
}

interface Rendered { readonly fileName: string; readonly text: string; readonly bodyOffset: number; readonly snippet: Snippet }

/**
 * The module a snippet is checked as: its imports, the imports and declarations it leaves to the harness, then its
 * other statements inside a Stack subclass's constructor. `bodyOffset` maps lines back to the doc.
 */
function render(snippet: Snippet, index: number, publicNames: ReadonlySet<string>, coreNames: ReadonlySet<string>): Rendered {
  const source = ts.createSourceFile('snippet.ts', snippet.code, ts.ScriptTarget.ES2022, true);
  const bound = boundNames(source);
  const used = usedIdentifiers(source);
  const missing = (names: Iterable<string>) => [...names].filter((n) => used.has(n) && !bound.has(n)).sort();
  const importLines: string[] = [];
  const bodyLines: string[] = [];
  // Imports stay where they are (as blank lines in the body), so line numbers still match the doc.
  const codeLines = snippet.code.split('\n');
  const importRanges = source.statements.filter(ts.isImportDeclaration)
    .map((s) => [source.getLineAndCharacterOfPosition(s.getStart()).line, source.getLineAndCharacterOfPosition(s.getEnd()).line]);
  codeLines.forEach((l, i) => {
    const isImport = importRanges.some(([a, b]) => i >= a && i <= b);
    importLines.push(isImport ? l : '');
    bodyLines.push(isImport ? '' : l);
  });
  const lib = missing(publicNames);
  const core = missing([...coreNames].filter((n) => !publicNames.has(n)));
  const context = missing(Object.keys(SNIPPET_CONTEXT));
  const header = [
    ...importLines,
    lib.length ? `import { ${lib.join(', ')} } from 'cdk-hyperpod-training';` : '',
    core.length ? `import { ${core.join(', ')} } from 'aws-cdk-lib';` : '',
    `import { Stack as SnippetStack$ } from 'aws-cdk-lib';`,
    ...context.map((n) => `declare const ${n}: ${SNIPPET_CONTEXT[n]};`),
    'export class Snippet$ extends SnippetStack$ {',
    '  constructor() {',
    '    super();',
  ];
  const text = [...header, ...bodyLines, '  }', '}', ''].join('\n');
  const fileName = path.join(ROOT, 'test', 'docs', '.snippets', `${snippet.doc.replace(/[/.]/g, '_')}_${index}.ts`);
  return { fileName, text, bodyOffset: header.length, snippet };
}

/** Where a diagnostic in a rendered snippet is in its doc: `docs/cluster.md:12`. */
function docLocation(r: Rendered, line: number): string {
  const codeLine = line < r.bodyOffset ? line : line - r.bodyOffset; // the first lines are the snippet's own imports
  return `${r.snippet.doc}:${r.snippet.line + Math.min(codeLine, r.snippet.code.split('\n').length - 1)}`;
}

function typeCheck(rendered: Rendered[]): string[] {
  const options = API_COMPILER_OPTIONS;
  const files = new Map(rendered.map((r) => [r.fileName, r]));
  const host = ts.createCompilerHost(options);
  const readFile = host.readFile.bind(host);
  const getSourceFile = host.getSourceFile.bind(host);
  host.readFile = (f) => files.get(f)?.text ?? readFile(f);
  host.fileExists = (f) => files.has(f) || ts.sys.fileExists(f);
  host.getSourceFile = (f, v, onError, create) => {
    const r = files.get(f);
    return r ? ts.createSourceFile(f, r.text, v, true) : getSourceFile(f, v, onError, create);
  };
  const program = ts.createProgram([...files.keys()], options, host);
  return rendered.flatMap((r) => program.getSemanticDiagnostics(program.getSourceFile(r.fileName))
    .concat(program.getSyntacticDiagnostics(program.getSourceFile(r.fileName)))
    .map((d) => {
      const { line } = d.file!.getLineAndCharacterOfPosition(d.start ?? 0);
      return `${docLocation(r, line)}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
    }));
}

/** Import paths of the snippets that name this package: each must be a key of the exports map. */
function packageImports(snippets: Snippet[]): string[] {
  return snippets.flatMap((s) => [...s.code.matchAll(/from '(cdk-hyperpod-training[^']*)'/g)].map((m) => m[1]));
}

/** A snippet with a known mistake, checked in the same program: the harness must report it at its doc line. */
const PROBE: Snippet = {
  doc: 'probe.md', line: 10,
  code: "import { Duration } from 'aws-cdk-lib';\n\nconst n = new TrainingNetwork(this, 'N', { plannedNodes: 3 });",
};

describe('documentation snippets', () => {
  const snippets = docFiles().map((doc) => extractSnippets(doc, fs.readFileSync(path.join(ROOT, doc), 'utf8')));
  const compiled = snippets.flatMap((s) => s.compiled);
  let problems: string[] = [];

  beforeAll(() => {
    // Runtime names of the public API and aws-cdk-lib's root, for the imports a fragment leaves out.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const publicNames = new Set(Object.keys(require('../../lib')));
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const coreNames = new Set(Object.keys(require('aws-cdk-lib')).filter((n) => /^[A-Z]/.test(n)));
    problems = typeCheck([...compiled, PROBE].map((s, i) => render(s, i, publicNames, coreNames)));
  }, 60_000);

  test('the docs have TypeScript snippets, and every one is compiled or says why not', () => {
    expect(compiled.length).toBeGreaterThanOrEqual(8);
    expect(compiled.map((s) => s.doc)).toEqual(expect.arrayContaining(['README.md', 'docs/getting-started.md', 'docs/cluster.md']));
  });

  test('every import path the docs use is in the package exports map', () => {
    const paths = [...new Set(packageImports(compiled))];
    expect(paths.length).toBeGreaterThan(0);
    expect(paths.filter((p) => !(`.${p.slice('cdk-hyperpod-training'.length)}` in PACKAGE.exports))).toEqual([]);
  });

  test('every compiled snippet type-checks against the public API', () => {
    expect(problems.filter((p) => !p.startsWith('probe.md:'))).toEqual([]);
  });

  test('a wrong snippet is reported at its doc line', () => {
    expect(problems.filter((p) => p.startsWith('probe.md:'))).toEqual([
      expect.stringMatching(/^probe\.md:12: Type 'number' is not assignable to type .*PlannedNodes/)]);
  });
});

describe('the snippet convention', () => {
  test('a block marked not-compiled on the line before is skipped; others are taken with their doc line', () => {
    const doc = ['# T', '```ts', 'const a = 1;', '```', '<!-- not-compiled: pseudo-code -->', '```typescript', 'nope(', '```', '```bash', 'ls', '```'].join('\n');
    const { compiled, skipped } = extractSnippets('x.md', doc);
    expect(compiled).toEqual([{ doc: 'x.md', line: 3, code: 'const a = 1;' }]);
    expect(skipped).toEqual(['x.md:6']);
  });
});
