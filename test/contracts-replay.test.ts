/**
 * A v1 → v2 evolution on the real servers: a stream holding version 1 events (legacy producers, no
 * header, and stamped ones), version 2 events (through `eventPublisher`, some as CloudEvents), events
 * with a field no version declares and one of a version nobody declared, replayed from the start by
 * the version 2 pipeline with its upcaster. Its tables must equal the independently computed totals,
 * and the tables of the same events all published as version 2.
 */
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import { map, share } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { sum } from '../aggregators/sum.ts';
import { eventPublisher } from '../core/event-publisher.ts';
import { definePipeline } from '../core/pipeline.ts';
import { replayPipeline } from '../core/replay.ts';
import { upcast } from '../operators/event-versions.ts';
import { tumbling } from '../operators/tumbling.ts';
import { defineTable } from '../sinks/clickhouse/table.ts';
import { windowRow } from '../windows/window-row.ts';
import { useTestServers } from './support/test-servers.ts';

const env = useTestServers('contracts');
const MINUTE = 60_000;

const PaymentV1 = z.object({ id: z.string(), ts: z.number().int(), customer: z.string(), amount_cents: z.number().int() });
const PaymentV2 = z.object({ id: z.string(), ts: z.number().int(), customer_id: z.string(), amount: z.number() });
type PaymentV2 = z.infer<typeof PaymentV2>;

/** The pipeline, named `<tables>_<id>`, writing tables `payments_<tables>` and `revenue_<tables>`. */
function paymentsPipeline(tables: string) {
  const name = `${tables}_${env.id}`;
  const payments = defineTable(`payments_${tables}`, { columns: { id: 'String', customer_id: 'String', amount: 'Float64' }, orderBy: ['id'] });
  const revenue = defineTable(`revenue_${tables}`, {
    columns: { window_start: 'DateTime', customer_id: 'String', revenue: 'Float64', payments: 'UInt64', version: 'UInt64' },
    orderBy: ['window_start', 'customer_id'],
    version: 'version',
  });
  return definePipeline({
    name,
    source: { stream: name.toUpperCase(), subjects: [`${name}.>`] },
    schema: PaymentV2,
    contract: {
      type: 'payment',
      version: 2,
      previous: { 1: upcast(PaymentV1, (p): PaymentV2 => ({ id: p.id, ts: p.ts, customer_id: p.customer, amount: p.amount_cents / 100 })) },
    },
    eventTime: { time: (p) => p.ts, maxOutOfOrderMs: 5_000 },
    tables: { payments, revenue },
    build: (events) => {
      const shared = events.pipe(share());
      return {
        payments: shared.pipe(map((p) => ({ id: p.id, customer_id: p.customer_id, amount: p.amount }))),
        revenue: shared.pipe(
          tumbling({ id: 'revenue', sizeMs: MINUTE, key: (p) => p.customer_id, aggregate: sum((p) => p.amount) }),
          map((w) => windowRow(w, { window_start: w.start, customer_id: w.key, revenue: w.value, payments: w.count })),
        ),
      };
    },
  });
}

describe('a v1 → v2 evolution with an upcaster', () => {
  it('replayed from the start gives exact tables, the same as if every event had been v2', async () => {
    const mixed = paymentsPipeline('mixed');
    const allV2 = paymentsPipeline('allv2');
    env.alsoDrop({ streams: [mixed.source.stream, allV2.source.stream], deadLetterPipelines: [mixed.name, allV2.name] });
    const jsm = await jetstreamManager(env.nc);
    for (const p of [mixed, allV2]) await jsm.streams.add({ name: p.source.stream, subjects: p.source.subjects });
    const js = jetstream(env.nc);
    const publishV2 = eventPublisher(js, mixed);
    const publishCloudEvents = eventPublisher(js, mixed, { cloudEvents: { source: 'test/checkout' } });

    // 400 payments over 20 minutes of event time, by 5 customers; amounts in quarters (exact in binary).
    const start = Math.floor((Date.now() - 2 * 3_600_000) / MINUTE) * MINUTE;
    const events: PaymentV2[] = Array.from({ length: 400 }, (_, i) => ({
      id: `p-${i}`,
      ts: start + i * 3_000,
      customer_id: `c-${i % 5}`,
      amount: ((i * 37) % 400) / 4,
    }));
    const v1 = (p: PaymentV2) => ({ id: p.id, ts: p.ts, customer: p.customer_id, amount_cents: Math.round(p.amount * 100) });
    const json = (value: unknown) => JSON.stringify(value);
    const subject = `${mixed.name}.new`;
    for (const [i, p] of events.entries()) {
      switch (i % 5) {
        case 0: // A producer from before versioning: no header, read as the oldest version.
          await js.publish(subject, json(v1(p)));
          break;
        case 1: {
          const h = headers();
          h.set('rxa-schema-version', '1');
          await js.publish(subject, json(v1(p)), { headers: h });
          break;
        }
        case 2:
          await publishV2.publish(subject, p);
          break;
        case 3:
          await publishCloudEvents.publish(subject, p, { id: p.id });
          break;
        default: {
          // A producer a version ahead: a field no version declares, dropped and counted.
          const h = headers();
          h.set('rxa-schema-version', '2');
          await js.publish(subject, json({ ...p, session_hint: `s-${i}` }), { headers: h });
        }
      }
    }
    const unknownVersion = headers();
    unknownVersion.set('rxa-schema-version', '3');
    const { seq: badSeq } = await js.publish(subject, json(events[0]), { headers: unknownVersion });
    for (const p of events) await publishV2.publish(`${allV2.name}.new`, p);

    const replay = (pipeline: typeof mixed) => replayPipeline(pipeline, { config: env.config, from: { seq: 1 }, signal: new AbortController().signal });
    const [mixedSummary, allV2Summary] = [await replay(mixed), await replay(allV2)];
    expect(mixedSummary).toMatchObject({ processed: events.length + 1, deadLetters: 1 });
    expect(allV2Summary).toMatchObject({ processed: events.length, deadLetters: 0 });

    // Independently: every event as v2, summed per minute and customer.
    const expected = new Map<string, { revenue: number; payments: number }>();
    for (const p of events) {
      const key = `${Math.floor(p.ts / MINUTE) * MINUTE}|${p.customer_id}`;
      const e = expected.get(key) ?? { revenue: 0, payments: 0 };
      e.revenue += p.amount;
      e.payments++;
      expected.set(key, e);
    }
    const query = async <T>(sql: string): Promise<T[]> => (await env.chDb.query({ query: sql, format: 'JSONEachRow' })).json<T>();
    const read = async (tables: string) => ({
      payments: await query<{ id: string; customer_id: string; amount: number }>(
        `SELECT id, customer_id, amount FROM payments_${tables} FINAL ORDER BY toUInt32(substring(id, 3))`,
      ),
      windows: await query<{ start: number; customer_id: string; revenue: number; payments: number }>(
        `SELECT toUInt32(window_start) * 1000 AS start, customer_id, revenue, toUInt32(payments) AS payments FROM revenue_${tables} FINAL ORDER BY start, customer_id`,
      ),
    });
    const fromMixed = await read('mixed');
    expect(fromMixed.payments).toEqual(events.map((p) => ({ id: p.id, customer_id: p.customer_id, amount: p.amount })));
    expect(new Map(fromMixed.windows.map((w) => [`${w.start}|${w.customer_id}`, { revenue: w.revenue, payments: w.payments }]))).toEqual(expected);
    expect(await read('allv2')).toEqual(fromMixed);

    const [letter] = await (
      await env.chDb.query({
        query: `SELECT stage, reason FROM rxa_dead_letters FINAL WHERE pipeline = '${mixed.name}' AND source_seq = ${badSeq}`,
        format: 'JSONEachRow',
      })
    ).json<{ stage: string; reason: string }>();
    expect(letter).toEqual({ stage: 'validate', reason: "version: header rxa-schema-version '3' names no declared version (declared: 2, 1)" });
  });
});
