import { z } from 'zod';
import type { CompatibilityMode } from './pipeline.ts';

/**
 * Compatibility of two versions of an event's JSON Schema, with the meanings Confluent's Schema
 * Registry gives the modes: `backward`, readers of the new schema read events written with the
 * previous one (consumers upgrade first); `forward`, readers of the previous schema read events
 * written with the new one (producers upgrade first); `full`, both; `none`, no check.
 *
 * Readers here read tolerantly unless said otherwise (`strictReaders`): a field a reader does not
 * know is dropped, so adding or removing an optional field breaks nothing. Compared: objects
 * (properties, required), types (an integer is a number), nullability, enums and consts, string,
 * number and array bounds, patterns and formats, nested objects and arrays, and unions (variants of
 * a discriminated union matched by their discriminator's value). Pure: no I/O.
 */

export type ChangeKind =
  | 'field-added'
  | 'field-removed'
  | 'became-required'
  | 'became-optional'
  | 'type-changed'
  | 'values-narrowed'
  | 'values-widened'
  | 'constraint-tightened'
  | 'constraint-loosened'
  | 'variant-added'
  | 'variant-removed';

export interface SchemaChange {
  /** Where: `ts`, `customer.address.zip`, `items[].sku`, `(type=click).element`. */
  readonly path: string;
  readonly kind: ChangeKind;
  /** What changed, readably: `integer → string`, `was required`, `maxLength 64 → 32`. */
  readonly detail: string;
  /** Readers of the new schema cannot read some events of the previous one. */
  readonly breaksBackward: boolean;
  /** Readers of the previous schema cannot read some events of the new one. */
  readonly breaksForward: boolean;
}

export interface CompareOptions {
  /** Readers dead-letter fields they do not know (`contract.unknownFields: 'reject'`): added and removed fields break too. @default false */
  strictReaders?: boolean;
}

const TYPE_NAMES = ['string', 'number', 'integer', 'boolean', 'object', 'array', 'null'] as const;
const NUMBER_BOUNDS = ['minimum', 'exclusiveMinimum', 'minLength', 'minItems'] as const;
const UPPER_BOUNDS = ['maximum', 'exclusiveMaximum', 'maxLength', 'maxItems'] as const;

/** The JSON Schema this module understands (zod's export of JSON types); other keywords are allowed and ignored. */
export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  [keyword: string]: unknown;
}

const typeName = z.enum(TYPE_NAMES);
export const JsonSchema: z.ZodType<JsonSchema> = z.lazy(() =>
  z.looseObject({
    type: z.union([typeName, z.array(typeName).min(1)]).optional(),
    properties: z.record(z.string(), JsonSchema).optional(),
    required: z.array(z.string()).optional(),
    items: JsonSchema.optional(),
    enum: z.array(z.unknown()).min(1).optional(),
    anyOf: z.array(JsonSchema).min(1).optional(),
    oneOf: z.array(JsonSchema).min(1).optional(),
    minimum: z.number().optional(),
    maximum: z.number().optional(),
    exclusiveMinimum: z.number().optional(),
    exclusiveMaximum: z.number().optional(),
    minLength: z.number().int().min(0).optional(),
    maxLength: z.number().int().min(0).optional(),
    minItems: z.number().int().min(0).optional(),
    maxItems: z.number().int().min(0).optional(),
    pattern: z.string().optional(),
    format: z.string().optional(),
  }),
) as z.ZodType<JsonSchema>;

/** `value` as a JSON Schema, or an error naming what is wrong with it (`where` says whose it is). */
export function parseJsonSchema(value: unknown, where: string): JsonSchema {
  const result = JsonSchema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  throw new Error(`${where} is not a valid JSON Schema: ${issues.join('; ')}`);
}

/** Every change from `previous` to `next`, each saying which direction it breaks. */
export function compareSchemas(previous: JsonSchema, next: JsonSchema, options: CompareOptions = {}): SchemaChange[] {
  const changes: SchemaChange[] = [];
  compareNode(normalize(previous), normalize(next), '', changes, options.strictReaders ?? false);
  return changes;
}

/** The changes that break `mode`. */
export function breakingChanges(changes: readonly SchemaChange[], mode: CompatibilityMode): SchemaChange[] {
  return changes.filter((c) => breaks(c, mode));
}

function breaks(change: SchemaChange, mode: CompatibilityMode): boolean {
  switch (mode) {
    case 'backward':
      return change.breaksBackward;
    case 'forward':
      return change.breaksForward;
    case 'full':
      return change.breaksBackward || change.breaksForward;
    case 'none':
      return false;
  }
}

/** One line per change: `✗` breaks `mode`, `✓` does not, with the directions it breaks. */
export function formatChanges(changes: readonly SchemaChange[], mode: CompatibilityMode): string[] {
  return changes.map((c) => {
    const directions = [c.breaksBackward ? 'backward' : '', c.breaksForward ? 'forward' : ''].filter(Boolean);
    const label = c.kind.replace('-', ' ');
    return `${breaks(c, mode) ? '✗' : '✓'} ${c.path || '(event)'}: ${label}${c.detail ? ` (${c.detail})` : ''}${directions.length > 0 ? ` — breaks ${directions.join(' and ')}` : ''}`;
  });
}

/** A schema node reduced to what is compared. */
interface Node {
  /** Types it accepts; undefined: anything. */
  readonly types: ReadonlySet<string> | undefined;
  /** Values it accepts (JSON text), from `enum`/`const`; undefined: any of its types. */
  readonly values: ReadonlySet<string> | undefined;
  readonly properties: ReadonlyMap<string, Node> | undefined;
  readonly required: ReadonlySet<string>;
  readonly items: Node | undefined;
  /** Object variants (a union), keyed by discriminator value when there is one, else by position. */
  readonly variants: { readonly discriminator: string | undefined; readonly byKey: ReadonlyMap<string, Node> } | undefined;
  readonly bounds: ReadonlyMap<string, number>;
  readonly pattern: string | undefined;
  readonly format: string | undefined;
}

function normalize(schema: JsonSchema): Node {
  const union = schema.anyOf ?? schema.oneOf;
  if (union) {
    const nonNull = union.filter((s) => !(s.type === 'null' || (Array.isArray(s.type) && s.type.length === 1 && s.type[0] === 'null')));
    const nullable = nonNull.length < union.length;
    if (nonNull.length === 1) return withNull(normalize({ ...schema, anyOf: undefined, oneOf: undefined, ...nonNull[0]! }), nullable);
    const branches = nonNull.map(normalize);
    const types = new Set<string>();
    let any = false;
    for (const b of branches) {
      if (b.types === undefined) any = true;
      else for (const t of b.types) types.add(t);
    }
    if (nullable) types.add('null');
    const discriminator = discriminatorOf(branches);
    const byKey = new Map<string, Node>();
    branches.forEach((b, i) => {
      byKey.set(discriminator === undefined ? String(i) : [...b.properties!.get(discriminator)!.values!][0]!, b);
    });
    return { ...leaf(schema), types: any ? undefined : types, variants: { discriminator, byKey } };
  }
  return leaf(schema);
}

function leaf(schema: JsonSchema): Node {
  let types: Set<string> | undefined;
  if (schema.type !== undefined) types = new Set(Array.isArray(schema.type) ? schema.type : [schema.type]);
  let values: Set<string> | undefined;
  if (schema.const !== undefined) values = new Set([JSON.stringify(schema.const)]);
  else if (schema.enum) values = new Set(schema.enum.map((v) => JSON.stringify(v)));
  if (types === undefined && values !== undefined) types = new Set([...values].map((v) => jsonType(JSON.parse(v))));
  const properties = schema.properties ? new Map(Object.entries(schema.properties).map(([k, v]) => [k, normalize(v)])) : undefined;
  const bounds = new Map<string, number>();
  for (const key of [...NUMBER_BOUNDS, ...UPPER_BOUNDS]) {
    const bound = schema[key];
    // zod writes the safe-integer range on every int(): not a bound anyone chose.
    if (typeof bound === 'number' && Math.abs(bound) !== Number.MAX_SAFE_INTEGER) bounds.set(key, bound);
  }
  return {
    types,
    values,
    properties,
    required: new Set(schema.required ?? []),
    items: schema.items ? normalize(schema.items) : undefined,
    variants: undefined,
    bounds,
    pattern: typeof schema.pattern === 'string' ? schema.pattern : undefined,
    format: typeof schema.format === 'string' ? schema.format : undefined,
  };
}

function withNull(node: Node, nullable: boolean): Node {
  if (!nullable || node.types === undefined) return node;
  return { ...node, types: new Set([...node.types, 'null']), values: node.values ? new Set([...node.values, 'null']) : undefined };
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

/** A property every branch has as a single distinct value: the union's discriminator. */
function discriminatorOf(branches: readonly Node[]): string | undefined {
  const first = branches[0]?.properties;
  if (!first || branches.length < 2) return undefined;
  for (const key of first.keys()) {
    const seen = new Set<string>();
    const ok = branches.every((b) => {
      const values = b.properties?.get(key)?.values;
      if (values?.size !== 1 || !b.required.has(key)) return false;
      const value = [...values][0]!;
      if (seen.has(value)) return false;
      seen.add(value);
      return true;
    });
    if (ok) return key;
  }
  return undefined;
}

function compareNode(before: Node, after: Node, path: string, out: SchemaChange[], strict: boolean): void {
  const add = (kind: ChangeKind, detail: string, breaksBackward: boolean, breaksForward: boolean): void =>
    void out.push({ path, kind, detail, breaksBackward, breaksForward });

  // Types: a reader reads what its types include (an integer is a number).
  const backwardTypes = includes(after.types, before.types);
  const forwardTypes = includes(before.types, after.types);
  if (!backwardTypes || !forwardTypes) add('type-changed', `${typeText(before.types)} → ${typeText(after.types)}`, !backwardTypes, !forwardTypes);

  // Values (enum, const).
  if (!sameSet(before.values, after.values)) {
    const backward = valuesIncluded(before.values, after.values);
    const forward = valuesIncluded(after.values, before.values);
    const detail = `${valuesText(before.values)} → ${valuesText(after.values)}`;
    if (!backward && forward) add('values-narrowed', detail, true, false);
    else if (backward && !forward) add('values-widened', detail, false, true);
    else if (!backward && !forward) add('values-narrowed', detail, true, true);
  }

  compareBounds(before, after, add);

  // Objects: each property, and which are required.
  if (before.properties || after.properties) {
    const previous = before.properties ?? new Map<string, Node>();
    const next = after.properties ?? new Map<string, Node>();
    for (const [name, node] of previous) {
      const at = join(path, name);
      const wasRequired = before.required.has(name);
      const target = next.get(name);
      if (target === undefined) {
        // New readers drop it (unless strict); old readers miss it where they required it.
        out.push({
          path: at,
          kind: 'field-removed',
          detail: wasRequired ? 'was required' : 'was optional',
          breaksBackward: strict,
          breaksForward: wasRequired,
        });
        continue;
      }
      const isRequired = after.required.has(name);
      if (!wasRequired && isRequired) out.push({ path: at, kind: 'became-required', detail: '', breaksBackward: true, breaksForward: false });
      if (wasRequired && !isRequired) out.push({ path: at, kind: 'became-optional', detail: '', breaksBackward: false, breaksForward: true });
      compareNode(node, target, at, out, strict);
    }
    for (const name of next.keys()) {
      if (previous.has(name)) continue;
      const required = after.required.has(name);
      out.push({ path: join(path, name), kind: 'field-added', detail: required ? 'required' : 'optional', breaksBackward: required, breaksForward: strict });
    }
  }

  if (before.items && after.items) compareNode(before.items, after.items, `${path}[]`, out, strict);

  if (before.variants && after.variants) compareVariants(before.variants, after.variants, path, out, strict);
}

function compareVariants(
  before: NonNullable<Node['variants']>,
  after: NonNullable<Node['variants']>,
  path: string,
  out: SchemaChange[],
  strict: boolean,
): void {
  const discriminator = before.discriminator === after.discriminator ? before.discriminator : undefined;
  const label = (key: string): string => (discriminator === undefined ? `${path}(variant ${key})` : `${path}(${discriminator}=${JSON.parse(key)})`);
  if (discriminator === undefined && before.byKey.size !== after.byKey.size) {
    // Not matched one to one: compare what the types say, already done.
    return;
  }
  for (const [key, node] of before.byKey) {
    const target = after.byKey.get(key);
    if (target === undefined) out.push({ path: label(key), kind: 'variant-removed', detail: '', breaksBackward: true, breaksForward: false });
    else compareNode(node, target, label(key), out, strict);
  }
  for (const key of after.byKey.keys()) {
    if (!before.byKey.has(key)) out.push({ path: label(key), kind: 'variant-added', detail: '', breaksBackward: false, breaksForward: true });
  }
}

function compareBounds(before: Node, after: Node, add: (kind: ChangeKind, detail: string, backward: boolean, forward: boolean) => void): void {
  for (const key of [...NUMBER_BOUNDS, ...UPPER_BOUNDS]) {
    const was = before.bounds.get(key);
    const is = after.bounds.get(key);
    if (was === is) continue;
    const lower = (NUMBER_BOUNDS as readonly string[]).includes(key);
    // Tightened: the new schema accepts less than the previous one (a new reader refuses old events).
    const tightened = was === undefined || (is !== undefined && (lower ? is > was : is < was));
    const detail = `${key} ${was ?? 'none'} → ${is ?? 'none'}`;
    add(tightened ? 'constraint-tightened' : 'constraint-loosened', detail, tightened, !tightened);
  }
  for (const key of ['pattern', 'format'] as const) {
    const was = before[key];
    const is = after[key];
    if (was === is) continue;
    const detail = `${key} ${was ?? 'none'} → ${is ?? 'none'}`;
    if (was === undefined) add('constraint-tightened', detail, true, false);
    else if (is === undefined) add('constraint-loosened', detail, false, true);
    else add('constraint-tightened', detail, true, true);
  }
}

/** Whether a reader of `reader` types reads every value of `written` types. */
function includes(reader: ReadonlySet<string> | undefined, written: ReadonlySet<string> | undefined): boolean {
  if (reader === undefined) return true;
  if (written === undefined) return false;
  for (const t of written) if (!reader.has(t) && !(t === 'integer' && reader.has('number'))) return false;
  return true;
}

/** Whether every value of `written` is one `reader` accepts (no `reader` values: any). */
function valuesIncluded(written: ReadonlySet<string> | undefined, reader: ReadonlySet<string> | undefined): boolean {
  if (reader === undefined) return true;
  if (written === undefined) return false;
  for (const v of written) if (!reader.has(v)) return false;
  return true;
}

function sameSet(a: ReadonlySet<string> | undefined, b: ReadonlySet<string> | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.size === b.size && [...a].every((v) => b.has(v));
}

function typeText(types: ReadonlySet<string> | undefined): string {
  return types === undefined ? 'any' : [...types].join(' | ');
}

function valuesText(values: ReadonlySet<string> | undefined): string {
  return values === undefined ? 'any value' : [...values].join(' | ');
}

function join(path: string, name: string): string {
  return path === '' ? name : `${path}.${name}`;
}
