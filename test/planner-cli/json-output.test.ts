import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT_OK, runCli } from '../../lib/planner-cli/cli';
import { JSON_SCHEMA_VERSION } from '../../lib/planner-cli/cli-render';
import { schemaErrors } from './json-schema';

const SCHEMA_FILE = join(__dirname, '..', '..', 'lib', 'planner-cli', 'cli-output.schema.json');
const SCHEMA = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8'));

function json(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = runCli([...argv, '--json'], { stdout: (t) => { stdout += t; }, stderr: (t) => { stderr += t; } });
  expect({ code, stderr }).toEqual({ code: EXIT_OK, stderr: '' });
  return JSON.parse(stdout);
}

const ESTIMATE = ['estimate', '--model', 'llama-3.1-8b', '--gpu', 'h100-94gb', '--tp', '2', '--dp', '2'];
const SEARCH = ['search', '--model', 'llama-3.3-70b', '--gpu', 'h100-80gb', '--gpus', '256'];
const PLAN = ['plan', '--model', 'llama-3.3-70b', '--instance', 'ml.p5.48xlarge', '--nodes', '32', '--tokens', '314e9'];

/** Real outputs of the three commands, over the flags that add or drop fields. */
const OUTPUTS: Record<string, string[][]> = {
  estimate: [
    ESTIMATE,
    ['estimate', '--model', 'llama-3.1-405b', '--instance', 'ml.p5.48xlarge', '--tp', '8', '--pp', '16', '--dp', '8',
      '--gbs', '2048'],
    ['estimate', '--hidden', '4096', '--ffn', '14336', '--layers', '32', '--heads', '32', '--kv-heads', '8', '--vocab',
      '128256', '--tied', '--gpu', 'h100-80gb', '--tp', '4', '--recompute', 'full', '--fp8'],
  ],
  search: [SEARCH, [...SEARCH, '--all', '--top', '5'], ['search', '--model', 'qwen2.5-72b', '--instance', 'ml.p4d.24xlarge',
    '--gpus', '128', '--recompute', 'full']],
  plan: [
    PLAN,
    [...PLAN, '--price-per-node-hour', '55', '--fsx-tib', '48', '--tp', '8', '--pp', '2'],
    [...PLAN, '--measured-tflops', '400', '--recompute', 'full', '--recompute-num-layers', '4', '--goodput', '0.9'],
    [...PLAN, '--failures-per-node-hour', '0', '--checkpoint-interval-min', '60'],
    ['plan', '--profile', 'swallow-70b'],
  ],
};

describe('the --json schema (lib/planner-cli/cli-output.schema.json)', () => {
  test.each(Object.entries(OUTPUTS).flatMap(([command, runs]) => runs.map((argv) => [command, argv.join(' ')])))(
    '%s output is valid: %s', (command, args) => {
      const out = json(...args.split(' '));
      expect(out).toMatchObject({ schemaVersion: JSON_SCHEMA_VERSION, command });
      expect(schemaErrors(SCHEMA, out)).toEqual([]);
    });

  test('the version in the schema is the one the CLI writes', () => {
    for (const command of ['estimate', 'search', 'plan']) {
      expect(SCHEMA.$defs[command].properties.schemaVersion.const).toBe(JSON_SCHEMA_VERSION);
      expect(SCHEMA.$defs[command].properties.command.const).toBe(command);
    }
  });

  test('every field the schema describes occurs in some output (no stale field)', () => {
    for (const [command, runs] of Object.entries(OUTPUTS)) {
      const seen = new Set(runs.flatMap((argv) => Object.keys(json(...argv))));
      expect(Object.keys(SCHEMA.$defs[command].properties).filter((k) => !seen.has(k))).toEqual([]);
    }
    const plans = OUTPUTS.plan.map((argv) => json(...argv));
    expect(plans.some((p) => p.fsxSizing.smaller !== undefined && p.fsxSizing.larger !== undefined)).toBe(true);
    expect(plans.some((p) => p.goodputModel.meanTimeBetweenFailuresHours === null)).toBe(true);
  });

  test('a plan with a --data-mixture file is valid too', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-json-'));
    try {
      const file = join(dir, 'mixture.json');
      writeFileSync(file, JSON.stringify({ sources: [
        { name: 'web', prefix: 'web/text_document', tokens: 400e9, weight: 1 },
        { name: 'wiki', prefix: 'wiki/text_document', tokens: 4e9, epochs: 2, note: 'twice' },
      ] }));
      const out = json(...PLAN, '--data-mixture', file);
      expect(out.dataMixture).toHaveLength(2);
      expect(schemaErrors(SCHEMA, out)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a search lists its layouts under layouts, with what was searched', () => {
    const out = json(...SEARCH, '--top', '2');
    expect(out).toMatchObject({ model: 'llama-3.3-70b', gpu: 'h100-80gb', gpusPerNode: 8, gpus: 256,
      sequenceLength: 8192, globalBatchSize: 1024, threshold: 0.8 });
    expect(out.layouts).toHaveLength(2);
    expect(out.layoutsFound).toBeGreaterThan(2);
  });
});

describe('the schema checker', () => {
  const estimate = () => json(...ESTIMATE);

  test.each([
    ['a field the schema does not know', (o: any) => { o.extra = 1; }, /^\$: property extra is not in the schema$/],
    ['a missing field', (o: any) => { delete o.fits; }, /^\$: missing required property fits$/],
    ['a wrong type', (o: any) => { o.layout.tp = '2'; }, /^\$\.layout\.tp: must be integer, got "2"$/],
    ['a fraction for an integer', (o: any) => { o.gpus = 4.5; }, /^\$\.gpus: must be integer/],
    ['below the minimum', (o: any) => { o.layout.dp = 0; }, /^\$\.layout\.dp: must be at least 1, got 0$/],
    ['another version', (o: any) => { o.schemaVersion = 2; }, /^\$\.schemaVersion: must be 1, got 2$/],
    ['null for a number', (o: any) => { o.mfu = null; }, /^\$\.mfu: must be number, got null$/],
  ])('rejects %s', (_name, spoil, message) => {
    const out = estimate();
    spoil(out);
    const errors = schemaErrors(SCHEMA, out);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(message);
  });

  test('rejects a value outside an enum, and an unknown command', () => {
    const plan = json(...PLAN);
    plan.options.recomputation = 'partial';
    expect(schemaErrors(SCHEMA, plan)).toEqual(['$.options.recomputation: must be one of ["none","selective","full"], '
      + 'got "partial"']);
    expect(schemaErrors(SCHEMA, { ...estimate(), command: 'quotas' })).toEqual(
      ['$.command: must be "estimate", got "quotas"']);
  });

  test('refuses a schema keyword it does not check', () => {
    expect(() => schemaErrors({ type: 'string', pattern: '^a' }, 'b')).toThrow(/does not support: pattern/);
    expect(() => schemaErrors({ type: 'object', additionalProperties: { type: 'string' } }, {}))
      .toThrow(/only a boolean additionalProperties/);
  });
});
