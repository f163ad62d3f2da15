// The docs name alerts an operator will see: every such name must be an alert the rules define (a renamed or
// removed alert left behind in a runbook sends the reader looking for something that never fires).
import * as fs from 'fs';
import * as path from 'path';
import { renderAlertRules } from '../../lib/observability/alert-rules';
import { parseRuleGroups } from '../observability/rule-file';

const ROOT = path.join(__dirname, '..', '..');
const DOCS = ['README.md', ...fs.readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

/** Names the library exports (TrainingNetwork, SlurmConfigStrategy, …): written like alerts, but not alerts. */
function exportedNames(dir = path.join(ROOT, 'lib')): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const file = path.join(dir, e.name);
    if (e.isDirectory()) return exportedNames(file);
    if (!e.name.endsWith('.ts')) return [];
    return [...fs.readFileSync(file, 'utf8').matchAll(/export (?:declare )?(?:abstract )?(?:class|interface|type|enum|const|function) (\w+)/g)]
      .map((m) => m[1]);
  });
}

/** Other systems' names of the same shape: slurm.conf parameters, HyperPod's SlurmConfig, a CDK CLI warning. */
const OTHER_SYSTEMS = new Set(['SlurmConfig', 'SlurmUser', 'JobCompType', 'JobCompLoc', 'NodeVersionSupportWarning']);

/** Names written like an alert (`GpuXidError`, **TrainingStalled**): CamelCase with an alert family's prefix. */
const ALERT_LIKE = /[`*]((?:Gpu|Efa|Training|Straggler|Slurm|Job|Checkpoint|Node|Disk|Scrape|Textfile)[A-Z][A-Za-z]+)[`*]/g;

describe('alert names in the docs', () => {
  const alerts = new Set(parseRuleGroups(renderAlertRules()).flatMap((g) => g.rules).filter((r) => r.kind === 'alert').map((r) => r.name));
  const exported = new Set(exportedNames());

  test('the rules define alerts the pattern recognises', () => {
    expect(alerts.has('TrainingStalled')).toBe(true);
    expect([...'`GpuStraggler` **NodeDown**'.matchAll(ALERT_LIKE)].map((m) => m[1])).toEqual(['GpuStraggler', 'NodeDown']);
  });

  test.each(DOCS)('%s names only alerts that exist', (doc) => {
    const text = fs.readFileSync(path.join(ROOT, doc), 'utf8');
    const unknown = [...text.matchAll(ALERT_LIKE)].map((m) => m[1]).filter((name) => !alerts.has(name) && !exported.has(name) && !OTHER_SYSTEMS.has(name));
    expect(unknown).toEqual([]);
  });
});
