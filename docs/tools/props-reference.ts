// Generates docs/reference.md: every exported interface (props and options) and enum of the constructs, with
// each field's type, default and description, read from the TypeScript sources and their doc comments.
//   npx tsx docs/tools/props-reference.ts
// test/docs/props-reference.test.ts fails when the committed file no longer matches the sources.
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';

const ROOT = path.join(__dirname, '..', '..');
/** The construct modules, in reading order (the planner has its own guide, docs/planner.md). */
const MODULES = ['network', 'storage', 'cluster', 'observability', 'inference', 'training', 'platform'];

export function propsReference(): string {
  const lines = ['# Construct reference', '',
    'Generated from the sources by `docs/tools/props-reference.ts`; the doc comments in `lib/` are the source of truth.', ''];
  for (const module of MODULES) {
    const dir = path.join(ROOT, 'lib', module);
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')).sort();
    const sections = files.flatMap((f) => describeFile(path.join(dir, f)));
    if (sections.length === 0) continue;
    lines.push(`## ${module}`, '', ...sections);
  }
  return lines.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd() + '\n';
}

function describeFile(file: string): string[] {
  const source = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const out: string[] = [];
  source.forEachChild((node) => {
    if (!isExported(node)) return;
    if (ts.isInterfaceDeclaration(node)) out.push(...describeInterface(node, file));
    if (ts.isEnumDeclaration(node)) out.push(...describeEnum(node, file));
  });
  return out;
}

function isExported(node: ts.Node): boolean {
  return ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
}

function describeInterface(node: ts.InterfaceDeclaration, file: string): string[] {
  const members = node.members.filter(ts.isPropertySignature);
  const rows = members.map((m) => {
    const { text, tags } = docOf(m);
    const required = !m.questionToken;
    const fallback = tags.get('default') ?? (required ? '*required*' : '');
    return `| \`${m.name.getText()}\` | \`${(m.type?.getText() ?? '').replace(/\|/g, '\\|').replace(/\s+/g, ' ')}\` | ${cell(fallback)} | ${cell(text)} |`;
  });
  const heading = [`### ${node.name.text}`, '', `\`${path.relative(ROOT, file)}\`${docOf(node).text ? ` — ${docOf(node).text}` : ''}`, ''];
  if (rows.length === 0) return [...heading, ''];
  return [...heading, '| field | type | default | description |', '|---|---|---|---|', ...rows, ''];
}

function describeEnum(node: ts.EnumDeclaration, file: string): string[] {
  const rows = node.members.map((m) => `| \`${m.name.getText()}\` | ${cell(docOf(m).text)} |`);
  return [`### ${node.name.text} (enum)`, '', `\`${path.relative(ROOT, file)}\`${docOf(node).text ? ` — ${docOf(node).text}` : ''}`, '',
    '| value | meaning |', '|---|---|', ...rows, ''];
}

/** The doc comment's text (first paragraph) and its tags. */
function docOf(node: ts.Node): { text: string; tags: Map<string, string> } {
  const docs = ts.getJSDocCommentsAndTags(node).filter(ts.isJSDoc);
  const doc = docs[docs.length - 1];
  const text = typeof doc?.comment === 'string' ? doc.comment.split(/\n\s*\n/)[0] : ts.getTextOfJSDocComment(doc?.comment) ?? '';
  const tags = new Map<string, string>();
  for (const tag of doc?.tags ?? []) tags.set(tag.tagName.text, (ts.getTextOfJSDocComment(tag.comment) ?? '').trim());
  return { text: text.replace(/\s+/g, ' ').trim(), tags };
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\s+/g, ' ').trim();

if (require.main === module) {
  fs.writeFileSync(path.join(ROOT, 'docs', 'reference.md'), propsReference());
}
