/*
 * A checker for the subset of JSON Schema (draft 2020-12) that lib/planner-cli/cli-output.schema.json uses: type,
 * const, enum, minimum, properties, required, additionalProperties (boolean), items, oneOf and local $ref
 * (`#/$defs/NAME`); description, title and $schema are annotations. Any other keyword is an error, so the schema
 * cannot use one that this checker would silently ignore. Written here rather than taken from ajv: ajv is only a
 * transitive dependency, which can vanish.
 */

type Schema = { readonly [keyword: string]: unknown };

const ANNOTATIONS = new Set(['$schema', 'title', 'description', '$defs']);
const CHECKED = new Set(['type', 'const', 'enum', 'minimum', 'properties', 'required', 'additionalProperties',
  'items', 'oneOf', '$ref']);

/** The ways `value` breaks `schema`, one line each (`$.layouts[0].tp: …`); empty when it is valid. */
export function schemaErrors(schema: Schema, value: unknown): string[] {
  return check(schema, schema, value, '$');
}

function check(root: Schema, schema: Schema, value: unknown, path: string): string[] {
  const unknown = Object.keys(schema).filter((k) => !ANNOTATIONS.has(k) && !CHECKED.has(k));
  if (unknown.length > 0) throw new Error(`${path}: schema keyword(s) this checker does not support: ${unknown}`);
  if (schema.additionalProperties !== undefined && typeof schema.additionalProperties !== 'boolean') {
    throw new Error(`${path}: only a boolean additionalProperties is supported`);
  }
  if (schema.$ref !== undefined) return check(root, resolve(root, String(schema.$ref)), value, path);
  if (schema.oneOf !== undefined) return oneOf(root, schema.oneOf as Schema[], value, path);
  const typeErrors = checkType(schema, value, path);
  if (typeErrors.length > 0) return typeErrors;
  const errors: string[] = [];
  if ('const' in schema && !equal(schema.const, value)) {
    errors.push(`${path}: must be ${JSON.stringify(schema.const)}, got ${JSON.stringify(value)}`);
  }
  if (schema.enum !== undefined && !(schema.enum as unknown[]).some((e) => equal(e, value))) {
    errors.push(`${path}: must be one of ${JSON.stringify(schema.enum)}, got ${JSON.stringify(value)}`);
  }
  if (schema.minimum !== undefined && typeof value === 'number' && value < (schema.minimum as number)) {
    errors.push(`${path}: must be at least ${schema.minimum}, got ${value}`);
  }
  if (isObject(value)) errors.push(...checkObject(root, schema, value, path));
  if (Array.isArray(value) && schema.items !== undefined) {
    value.forEach((item, i) => errors.push(...check(root, schema.items as Schema, item, `${path}[${i}]`)));
  }
  return errors;
}

function resolve(root: Schema, ref: string): Schema {
  const name = /^#\/\$defs\/([^/]+)$/.exec(ref)?.[1];
  const target = name === undefined ? undefined : (root.$defs as Record<string, Schema> | undefined)?.[name];
  if (target === undefined) throw new Error(`unresolvable $ref ${ref}`);
  return target;
}

function oneOf(root: Schema, branches: readonly Schema[], value: unknown, path: string): string[] {
  const results = branches.map((b) => check(root, b, value, path));
  const matching = results.filter((r) => r.length === 0).length;
  if (matching === 1) return [];
  if (matching > 1) return [`${path}: matches ${matching} of the oneOf branches, must match exactly one`];
  // None matches: the errors of the branch that came closest.
  return [...results].sort((a, b) => a.length - b.length)[0];
}

function checkType(schema: Schema, value: unknown, path: string): string[] {
  if (schema.type === undefined) return [];
  const types = Array.isArray(schema.type) ? schema.type as string[] : [schema.type as string];
  return types.some((t) => hasType(t, value)) ? []
    : [`${path}: must be ${types.join(' or ')}, got ${JSON.stringify(value)}`];
}

function hasType(type: string, value: unknown): boolean {
  switch (type) {
    case 'object': return isObject(value);
    case 'array': return Array.isArray(value);
    case 'string': return typeof value === 'string';
    case 'number': return typeof value === 'number' && Number.isFinite(value);
    case 'integer': return typeof value === 'number' && Number.isInteger(value);
    case 'boolean': return typeof value === 'boolean';
    case 'null': return value === null;
    default: throw new Error(`unknown type ${type}`);
  }
}

function checkObject(root: Schema, schema: Schema, value: Record<string, unknown>, path: string): string[] {
  const properties = (schema.properties ?? {}) as Record<string, Schema>;
  const errors = ((schema.required ?? []) as string[]).filter((k) => !(k in value))
    .map((k) => `${path}: missing required property ${k}`);
  for (const [key, item] of Object.entries(value)) {
    if (properties[key] !== undefined) errors.push(...check(root, properties[key], item, `${path}.${key}`));
    else if (schema.additionalProperties === false) errors.push(`${path}: property ${key} is not in the schema`);
  }
  return errors;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function equal(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
