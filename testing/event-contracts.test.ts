import { map } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { definePipeline } from '../core/pipeline.ts';
import { dedupe } from '../operators/dedupe.ts';
import { upcast } from '../operators/event-versions.ts';
import clickstream from '../pipelines/clickstream.ts';
import { defineTable } from '../sinks/clickhouse/table.ts';
import { fakeClickHouse, TEST_CLOCK_START, testPipeline } from './index.ts';

const T0 = TEST_CLOCK_START;

/** Version 1 of an order event: `amount` in cents, `customer` a name. */
const OrderV1 = z.object({ id: z.string(), ts: z.number(), customer: z.string(), amount_cents: z.number().int() }).strict();
/** Version 2: `customer` renamed to `customer_id`, the amount in euros, a new optional `channel`. */
const OrderV2 = z
  .object({ id: z.string(), ts: z.number(), customer_id: z.string(), amount: z.number(), channel: z.enum(['web', 'app']).nullable().default(null) })
  .strict();

const orders = defineTable('contract_orders', {
  columns: { id: 'String', customer_id: 'String', amount: 'Float64', channel: 'String' },
  orderBy: ['id'],
});

function ordersPipeline(contract: Parameters<typeof definePipeline<typeof OrderV2, { orders: typeof orders }>>[0]['contract'] = {}) {
  return definePipeline({
    name: 'contract_orders',
    source: { stream: 'CONTRACT_ORDERS', subjects: ['orders.>'] },
    schema: OrderV2,
    contract: {
      version: 2,
      previous: { 1: upcast(OrderV1, (o) => ({ id: o.id, ts: o.ts, customer_id: o.customer, amount: o.amount_cents / 100, channel: null })) },
      ...contract,
    },
    eventTime: { time: (o) => o.ts },
    tables: { orders },
    build: (events) => ({
      orders: events.pipe(
        dedupe({ id: 'dedupe', ttlMs: 60_000 }),
        map((o) => ({ id: o.id, customer_id: o.customer_id, amount: o.amount, channel: o.channel ?? '' })),
      ),
    }),
  });
}

const v1 = (id: string, customer: string, cents: number) => ({
  payload: { id, ts: T0, customer, amount_cents: cents },
  headers: { 'rxa-schema-version': '1' },
});
const v2 = (id: string, customer_id: string, amount: number) => ({
  payload: { id, ts: T0, customer_id, amount, channel: 'web' as const },
  headers: { 'rxa-schema-version': '2' },
});

describe('event contracts under testPipeline', () => {
  it('counts fields the schema does not know instead of dead-lettering (the reference schema is strict)', async () => {
    const event = {
      type: 'page_view',
      event_id: 'e-1',
      ts: T0,
      user_id: 'u-1',
      url: 'https://shop.example.com/cart',
      referrer: null,
      user_agent: 'test',
      country: 'DE',
    };
    const { rows, deadLetters, stats } = await testPipeline(
      clickstream,
      [
        JSON.stringify({ ...event, session_hint: 's-1' }),
        JSON.stringify({ ...event, event_id: 'e-2', session_hint: 's-2' }),
        JSON.stringify({ ...event, event_id: 'e-3' }),
      ],
      { context: { clickhouse: fakeClickHouse({ query: () => [{ category: 'cart' }] }) } },
    );
    expect(deadLetters).toEqual([]);
    expect(rows.clickstream_events.map((r) => r.event_id)).toEqual(['e-1', 'e-2', 'e-3']);
    expect(stats['validate.unknown_field:session_hint']).toBe(2);
  });

  it('dead-letters unknown fields, naming them, when the pipeline reads strictly', async () => {
    const { rows, deadLetters } = await testPipeline(ordersPipeline({ unknownFields: 'reject' }), [
      { payload: { id: 'o-1', ts: T0, customer_id: 'c', amount: 1, extra: 1 }, headers: { 'rxa-schema-version': '2' } },
      v2('o-2', 'c', 2),
    ]);
    expect(deadLetters).toMatchObject([{ stage: 'validate', reason: "schema: unknown field 'extra'", input: 0 }]);
    expect(rows.contract_orders.map((r) => r.id)).toEqual(['o-2']);
  });

  it('upcasts older versions: mixed v1 and v2 input gives the rows of the same events all sent as v2', async () => {
    const mixed = await testPipeline(ordersPipeline(), [v1('o-1', 'ann', 1250), v2('o-2', 'bob', 3), v1('o-3', 'cy', 99)]);
    const allV2 = await testPipeline(ordersPipeline(), [v2('o-1', 'ann', 12.5), v2('o-2', 'bob', 3), v2('o-3', 'cy', 0.99)]);
    expect(mixed.deadLetters).toEqual([]);
    expect(mixed.rows.contract_orders.map((r) => ({ ...r, channel: '' }))).toEqual(allV2.rows.contract_orders.map((r) => ({ ...r, channel: '' })));
    expect(mixed.stats['validate.upcast']).toBe(2);
  });

  it('reads the version from ce-dataschema, and dedupes by ce-id when dedupe has no key', async () => {
    const ce = (id: string, version: number, payload: object) => ({ payload, headers: { 'ce-id': id, 'ce-dataschema': `urn:rxa:contract_orders:${version}` } });
    const { rows, deadLetters, stats } = await testPipeline(ordersPipeline(), [
      ce('x-1', 1, { id: 'o-1', ts: T0, customer: 'ann', amount_cents: 100 }),
      ce('x-1', 1, { id: 'o-1', ts: T0, customer: 'ann', amount_cents: 100 }),
      ce('x-2', 2, { id: 'o-2', ts: T0, customer_id: 'bob', amount: 2 }),
      { payload: { id: 'o-3', ts: T0, customer_id: 'cy', amount: 3 }, headers: { 'rxa-schema-version': '2' } },
    ]);
    expect(deadLetters).toEqual([]);
    expect(rows.contract_orders.map((r) => [r.id, r.amount])).toEqual([
      ['o-1', 1],
      ['o-2', 2],
      ['o-3', 3],
    ]);
    expect(stats).toMatchObject({ 'dedupe.duplicates': 1, 'dedupe.unkeyed': 1 });
  });

  it('dead-letters a failing upcast and an upcast that gives no current event, with their reasons', async () => {
    const pipeline = ordersPipeline({
      previous: {
        1: upcast(OrderV1, (o) => {
          if (o.amount_cents < 0) throw new Error('negative amount');
          return { id: o.id, ts: o.ts, customer_id: o.customer, amount: o.amount_cents / 100, channel: o.customer === 'app' ? 'app' : 'tv' } as never;
        }),
      },
    });
    const { rows, deadLetters } = await testPipeline(pipeline, [v1('o-1', 'ann', -1), v1('o-2', 'ann', 1), v1('o-3', 'app', 1)]);
    expect(deadLetters.map((d) => [d.input, d.reason])).toEqual([
      [0, 'upcast from version 1 failed: negative amount'],
      [1, 'upcast from version 1 gives no valid version 2 event: channel: expected one of "web"|"app"'],
    ]);
    expect(rows.contract_orders.map((r) => r.id)).toEqual(['o-3']);
  });

  it('dead-letters a version no one declared, with its reason', async () => {
    const { rows, deadLetters } = await testPipeline(ordersPipeline(), [
      { payload: { id: 'o-1', ts: T0, customer_id: 'a', amount: 1 }, headers: { 'rxa-schema-version': '3' } },
      { payload: { id: 'o-2', ts: T0, customer_id: 'a', amount: 1 }, headers: { 'ce-dataschema': 'https://example.com/orders/v9' } },
      { payload: { id: 'o-3', ts: T0, customer_id: 'a', amount: 1 }, headers: { 'rxa-schema-version': 'two' } },
      { payload: { id: 'o-4', ts: T0, customer_id: 'a', amount: 1 }, headers: { 'rxa-schema-version': '1' } },
      v2('o-5', 'b', 5),
    ]);
    expect(deadLetters.map((d) => [d.input, d.reason])).toEqual([
      [0, "version: header rxa-schema-version '3' names no declared version (declared: 2, 1)"],
      [
        1,
        "version: header ce-dataschema 'https://example.com/orders/v9' names no declared version (declared: urn:rxa:contract_orders:2, urn:rxa:contract_orders:1)",
      ],
      [2, "version: header rxa-schema-version 'two' names no declared version (declared: 2, 1)"],
      [3, 'schema (version 1): customer: required; amount_cents: required'],
    ]);
    expect(rows.contract_orders.map((r) => r.id)).toEqual(['o-5']);
  });

  it('reads messages without a version header as the oldest version, unless told otherwise', async () => {
    const old = JSON.stringify({ id: 'o-1', ts: T0, customer: 'ann', amount_cents: 100 });
    expect((await testPipeline(ordersPipeline(), [old])).rows.contract_orders).toMatchObject([{ id: 'o-1', amount: 1 }]);
    const current = { payload: { id: 'o-2', ts: T0, customer_id: 'bob', amount: 2 } };
    expect((await testPipeline(ordersPipeline({ unversioned: 2 }), [current])).rows.contract_orders).toMatchObject([{ id: 'o-2', amount: 2 }]);
  });

  it('refuses contracts that declare the current version twice or an undeclared unversioned one', () => {
    expect(() => ordersPipeline({ previous: { 2: upcast(OrderV1, () => ({ id: '', ts: 0, customer_id: '', amount: 0, channel: null })) } })).toThrow(
      /contract.previous.2: version 2 is the current one/,
    );
    expect(() => ordersPipeline({ unversioned: 7 })).toThrow(/contract.unversioned: version 7 is not declared/);
    expect(() => ordersPipeline({ compatibility: 'sideways' as 'full' })).toThrow(/contract.compatibility/);
  });
});
