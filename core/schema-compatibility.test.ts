import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { exportJsonSchema } from './event-contract.ts';
import type { CompatibilityMode } from './pipeline.ts';
import { breakingChanges, compareSchemas, formatChanges, parseJsonSchema } from './schema-compatibility.ts';

const json = (schema: z.ZodType) => exportJsonSchema(schema, 'test');
const MODES: CompatibilityMode[] = ['backward', 'forward', 'full', 'none'];

/** Which modes a change from `before` to `after` passes. */
function passes(before: z.ZodType, after: z.ZodType, strictReaders = false): CompatibilityMode[] {
  const changes = compareSchemas(json(before), json(after), { strictReaders });
  expect(changes.length).toBeGreaterThan(0);
  return MODES.filter((mode) => breakingChanges(changes, mode).length === 0);
}

const base = { id: z.string(), ts: z.number().int() };
const V1 = z.object({ ...base, price: z.number(), note: z.string().optional() });

describe('compareSchemas, per kind of change and mode (Confluent meanings, tolerant readers)', () => {
  it('finds no change between equal schemas', () => {
    expect(compareSchemas(json(V1), json(V1))).toEqual([]);
  });

  it('an optional field added: every mode; a required one: forward only', () => {
    expect(passes(V1, V1.extend({ hint: z.string().optional() }))).toEqual(['backward', 'forward', 'full', 'none']);
    expect(passes(V1, V1.extend({ hint: z.string().nullable().default(null) }))).toEqual(['backward', 'forward', 'full', 'none']);
    expect(passes(V1, V1.extend({ hint: z.string() }))).toEqual(['forward', 'none']);
  });

  it('a field removed: an optional one every mode, a required one backward only', () => {
    expect(passes(V1, V1.omit({ note: true }))).toEqual(['backward', 'forward', 'full', 'none']);
    expect(passes(V1, V1.omit({ price: true }))).toEqual(['backward', 'none']);
  });

  it('strict readers: added and removed fields break the readers that do not know them', () => {
    expect(passes(V1, V1.extend({ hint: z.string().optional() }), true)).toEqual(['backward', 'none']);
    expect(passes(V1, V1.omit({ note: true }), true)).toEqual(['forward', 'none']);
  });

  it('optional became required: forward only; required became optional: backward only', () => {
    expect(passes(V1, V1.extend({ note: z.string() }))).toEqual(['forward', 'none']);
    expect(passes(V1, V1.extend({ price: z.number().optional() }))).toEqual(['backward', 'none']);
  });

  it('type changed: breaks both ways; widened (integer to number, nullable) one way', () => {
    expect(passes(V1, V1.extend({ price: z.string() }))).toEqual(['none']);
    expect(passes(V1, V1.extend({ ts: z.number() }))).toEqual(['backward', 'none']);
    expect(passes(V1.extend({ ts: z.number() }), V1)).toEqual(['forward', 'none']);
    expect(passes(V1, V1.extend({ price: z.number().nullable() }))).toEqual(['backward', 'none']);
    expect(passes(V1.extend({ price: z.number().nullable() }), V1)).toEqual(['forward', 'none']);
  });

  it('enum values added: backward; removed: forward; a literal changed: none', () => {
    const E = z.object({ kind: z.enum(['a', 'b']) });
    expect(passes(E, z.object({ kind: z.enum(['a', 'b', 'c']) }))).toEqual(['backward', 'none']);
    expect(passes(E, z.object({ kind: z.enum(['a']) }))).toEqual(['forward', 'none']);
    expect(passes(z.object({ v: z.literal(1) }), z.object({ v: z.literal(2) }))).toEqual(['none']);
  });

  it('bounds, patterns and formats: tightened is forward only, loosened backward only', () => {
    const S = z.object({ name: z.string().max(64), qty: z.number().min(1) });
    expect(passes(S, z.object({ name: z.string().max(32), qty: z.number().min(1) }))).toEqual(['forward', 'none']);
    expect(passes(S, z.object({ name: z.string().max(128), qty: z.number().min(0) }))).toEqual(['backward', 'none']);
    expect(passes(z.object({ e: z.string() }), z.object({ e: z.email() }))).toEqual(['forward', 'none']);
  });

  it('nested objects and arrays of objects are compared field by field, with their paths', () => {
    const Order = z.object({ customer: z.object({ id: z.string(), tier: z.string().optional() }), items: z.array(z.object({ sku: z.string() })) });
    const Next = z.object({ customer: z.object({ id: z.number() }), items: z.array(z.object({ sku: z.string(), qty: z.number() })) });
    const changes = compareSchemas(json(Order), json(Next));
    expect(formatChanges(changes, 'backward')).toEqual([
      '✗ customer.id: type changed (string → number) — breaks backward and forward',
      '✓ customer.tier: field removed (was optional)',
      '✗ items[].qty: field added (required) — breaks backward',
    ]);
  });

  it('discriminated unions: variants matched by their discriminator; one added breaks forward, one removed backward', () => {
    const view = z.object({ type: z.literal('view'), url: z.string() });
    const buy = z.object({ type: z.literal('buy'), sku: z.string(), price: z.number() });
    const refund = z.object({ type: z.literal('refund'), sku: z.string() });
    const U1 = z.discriminatedUnion('type', [view, buy]);
    expect(passes(U1, z.discriminatedUnion('type', [view, buy, refund]))).toEqual(['backward', 'none']);
    expect(passes(U1, z.discriminatedUnion('type', [view]))).toEqual(['forward', 'none']);
    const changed = compareSchemas(json(U1), json(z.discriminatedUnion('type', [buy, view.extend({ url: z.number() })])));
    expect(formatChanges(changed, 'full')).toEqual(['✗ (type=view).url: type changed (string → number) — breaks backward and forward']);
  });

  it('refuses what is not a JSON Schema, saying where', () => {
    expect(() => parseJsonSchema({ type: 'text' }, 'registry entry x')).toThrow(/^registry entry x is not a valid JSON Schema: type: /);
    expect(() => parseJsonSchema({ properties: { a: { required: 'yes' } } }, 'x')).toThrow(/properties\.a\.required/);
    expect(() => parseJsonSchema('{}', 'x')).toThrow(/not a valid JSON Schema/);
    expect(() => exportJsonSchema(z.object({ at: z.date() }), 'pipeline p')).toThrow(/pipeline p: the schema cannot be exported as JSON Schema \(Date cannot/);
  });
});
