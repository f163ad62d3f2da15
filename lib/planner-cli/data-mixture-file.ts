import { readFileSync } from 'node:fs';
import { PlannerInputError } from '../planner/errors';
import { DataMixture, DataSource } from '../training/data-mixture';

/*
 * `plan --data-mixture FILE`: a JSON data mixture, `{"sources": [{"name", "prefix", "tokens", "weight" | "epochs",
 * "note"?}, …]}` (the DataMixture of lib/training/data-mixture.ts). This checks the file's shape — every source
 * present with its fields of the right type, nothing unknown — and planDataMixture checks the numbers.
 */

const FIELDS: Record<keyof DataSource, 'string' | 'number'> = {
  name: 'string', prefix: 'string', tokens: 'number', weight: 'number', epochs: 'number', note: 'string',
};
const REQUIRED: ReadonlyArray<keyof DataSource> = ['name', 'prefix', 'tokens'];

/** The mixture in `file`; an input error (field `data-mixture`) naming what is wrong. */
export function readDataMixture(file: string): DataMixture {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new PlannerInputError('data-mixture', `cannot read '${file}': ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new PlannerInputError('data-mixture', `'${file}' is not JSON: ${(e as Error).message}`);
  }
  return parseDataMixture(json, file);
}

/** A DataMixture from parsed JSON, its shape checked. */
export function parseDataMixture(json: unknown, file: string): DataMixture {
  if (!isObject(json) || !Array.isArray(json.sources)) {
    throw new PlannerInputError('data-mixture', `${file} must be an object {"sources": [...]}, got ${describe(json)}`);
  }
  const unknown = Object.keys(json).filter((k) => k !== 'sources');
  if (unknown.length > 0) throw new PlannerInputError('data-mixture', `${file} has unknown keys ${unknown.join(', ')}`);
  return { sources: json.sources.map((s: unknown, i: number) => parseSource(s, `${file}: sources[${i}]`)) };
}

function parseSource(json: unknown, where: string): DataSource {
  if (!isObject(json)) throw new PlannerInputError('data-mixture', `${where} must be an object, got ${describe(json)}`);
  for (const key of Object.keys(json)) {
    if (!(key in FIELDS)) {
      throw new PlannerInputError('data-mixture', `${where} has an unknown key '${key}': allowed are `
        + `${Object.keys(FIELDS).join(', ')}`);
    }
  }
  for (const key of REQUIRED) {
    if (json[key] === undefined) throw new PlannerInputError('data-mixture', `${where}.${key} is required`);
  }
  for (const [key, type] of Object.entries(FIELDS)) {
    const value = json[key];
    if (value !== undefined && typeof value !== type) {
      throw new PlannerInputError('data-mixture', `${where}.${key} must be a ${type}, got ${describe(value)}`);
    }
  }
  return json as unknown as DataSource;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  return typeof value === 'object' ? 'an object' : JSON.stringify(value) ?? typeof value;
}
