import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { fieldPlan, findUnknownFields } from './unknown-fields.ts';

const paths = (schema: z.ZodType, value: unknown): string[] => {
  const found: string[] = [];
  findUnknownFields(fieldPlan(schema), value, (f) => found.push(f.path));
  return found;
};

describe('findUnknownFields', () => {
  it('finds undeclared keys in objects, nested objects, arrays of objects and through wrappers', () => {
    const Item = z.object({ sku: z.string(), qty: z.number() });
    const Order = z.object({
      id: z.string(),
      customer: z.object({ id: z.string(), address: z.object({ city: z.string() }).nullable() }).optional(),
      items: z.array(Item).default([]),
      note: z.string().transform((s) => s.trim()),
    });
    const value = {
      id: 'o',
      extra: 1,
      customer: { id: 'c', vip: true, address: { city: 'x', zip: '1' } },
      items: [
        { sku: 'a', qty: 1 },
        { sku: 'b', qty: 2, coupon: 'c' },
      ],
      note: ' n ',
    };
    expect(paths(Order, value)).toEqual(['extra', 'customer.vip', 'customer.address.zip', 'items[].coupon']);
    expect(paths(Order, { id: 'o', customer: { id: 'c', address: null }, items: [], note: '' })).toEqual([]);
  });

  it('reads a discriminated union by its discriminator, other unions by every option together', () => {
    const Click = z.discriminatedUnion('type', [
      z.object({ type: z.literal('view'), url: z.string() }).strict(),
      z.object({ type: z.literal('buy'), sku: z.string() }).strict(),
    ]);
    expect(paths(Click, { type: 'view', url: 'u', sku: 's' })).toEqual(['sku']);
    expect(paths(Click, { type: 'buy', url: 'u', sku: 's' })).toEqual(['url']);
    // An unmatched discriminator (the schema rejects it anyway): every option's keys.
    expect(paths(Click, { type: 'other', url: 'u', x: 1 })).toEqual(['x']);
    const Either = z.union([z.object({ a: z.number() }), z.object({ b: z.number() }), z.string()]);
    expect(paths(Either, { a: 1, b: 2, c: 3 })).toEqual(['c']);
    expect(paths(Either, 'text')).toEqual([]);
  });

  it('declares every key of loose objects and records, and walks nothing that is not an object', () => {
    expect(paths(z.looseObject({ a: z.string() }), { a: 'x', b: 1 })).toEqual([]);
    expect(paths(z.object({ a: z.string() }).catchall(z.number()), { a: 'x', b: 1 })).toEqual([]);
    expect(paths(z.record(z.string(), z.number()), { a: 1 })).toEqual([]);
    expect(paths(z.object({ a: z.string() }), null)).toEqual([]);
    expect(paths(z.object({ a: z.string() }), [{ b: 1 }])).toEqual([]);
  });
});
