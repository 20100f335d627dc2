/**
 * Following events with traces, on the real servers: the pipeline runs in this process with the
 * SDK's in-memory exporter and every trace sampled. An event published inside a producer span is
 * followed to the span of the insert that wrote its row; a dead letter and a late event carry
 * their producer's trace id and their correlation id into the DLQ headers and the rxa_* rows.
 */
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import { context, propagation, type SpanContext, trace } from '@opentelemetry/api';
import { AlwaysOnSampler, InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { map, share } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { count } from '../aggregators/count.ts';
import { eventPublisher } from '../core/event-publisher.ts';
import { definePipeline } from '../core/pipeline.ts';
import { type PipelineStatus, runPipeline } from '../core/runner.ts';
import { tumbling } from '../operators/tumbling.ts';
import { defineTable } from '../sinks/clickhouse/table.ts';
import { DEAD_LETTER_STREAM } from '../sinks/dead-letter.ts';
import { windowRow } from '../windows/window-row.ts';
import { waitFor } from './support/helpers.ts';
import { useTestServers } from './support/test-servers.ts';

const env = useTestServers('traced');
const { names, config } = env;
const MINUTE = 60_000;

const Order = z.object({ id: z.string(), ts: z.number().int(), shop: z.string() });
const orders = defineTable('orders', { columns: { id: 'String', shop: 'String' }, orderBy: ['id'] });
const perMinute = defineTable('orders_per_minute', {
  columns: { window_start: 'DateTime', shop: 'String', orders: 'UInt64', version: 'UInt64' },
  orderBy: ['window_start', 'shop'],
  version: 'version',
});
const pipeline = definePipeline({
  name: names.name,
  source: { stream: names.stream, subjects: [`${names.subjectPrefix}.>`] },
  schema: Order,
  // No lateness allowed: an event behind a closed minute is late.
  eventTime: { time: (o) => o.ts, maxOutOfOrderMs: 0, allowedLatenessMs: 0 },
  tables: { orders, perMinute },
  settings: { flushIntervalMs: 100, checkpointIntervalMs: 200 },
  build: (events) => {
    const shared = events.pipe(share());
    return {
      orders: shared.pipe(map((o) => ({ id: o.id, shop: o.shop }))),
      perMinute: shared.pipe(
        tumbling({ id: 'per-minute', sizeMs: MINUTE, key: (o) => o.shop, aggregate: count() }),
        map((w) => windowRow(w, { window_start: w.start, shop: w.key, orders: w.value })),
      ),
    };
  },
});

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ sampler: new AlwaysOnSampler(), spanProcessors: [new SimpleSpanProcessor(exporter)] });
const tracer = trace.getTracer('tracing.test');

/** What a producer span published: the span's context. */
const producers: Record<'order' | 'late' | 'bad', SpanContext | undefined> = { order: undefined, late: undefined, bad: undefined };
let status: PipelineStatus | undefined;

beforeAll(async () => {
  provider.register();
  const jsm = await jetstreamManager(env.nc);
  await jsm.streams.add({ name: names.stream, subjects: [`${names.subjectPrefix}.>`] });
  const js = jetstream(env.nc);
  const publisher = eventPublisher(js, pipeline);
  const subject = `${names.subjectPrefix}.new`;
  const start = Math.floor((Date.now() - 3_600_000) / MINUTE) * MINUTE;
  /** Publish inside a producer span of its own, as a traced producer does. */
  const inSpan = async (kind: keyof typeof producers, publish: () => Promise<unknown>): Promise<void> => {
    const span = tracer.startSpan(`send ${kind}`);
    producers[kind] = span.spanContext();
    await context.with(trace.setSpan(context.active(), span), publish);
    span.end();
  };
  await inSpan('order', () => publisher.publish(subject, { id: 'o-1', ts: start + 1_000, shop: 'tea' }, { correlationId: 'cart-1' }));
  // Moves event time five minutes on: the first minute is closed.
  await publisher.publish(subject, { id: 'o-2', ts: start + 5 * MINUTE, shop: 'tea' });
  await inSpan('late', () => publisher.publish(subject, { id: 'o-3', ts: start + 2_000, shop: 'tea' }, { correlationId: 'cart-3' }));
  // Not JSON: a producer outside our helper, with the headers set by hand.
  await inSpan('bad', async () => {
    const h = headers();
    propagation.inject(context.active(), h, { set: (carrier, key, value) => carrier.set(key, value) });
    h.set('ce-correlationid', 'cart-4');
    await js.publish(subject, '{"id": "o-4", "ts": ', { headers: h });
  });
  const last = (await publisher.publish(subject, { id: 'o-5', ts: start + 5 * MINUTE + 1_000, shop: 'tea' })).seq;
  const controller = new AbortController();
  const run = runPipeline(pipeline, { config, signal: controller.signal, statusIntervalMs: 100, onStatus: (s) => (status = s) });
  await waitFor(() => (status?.ackedSeq ?? 0) >= last, 30_000, 'the pipeline to process and ack every message');
  controller.abort();
  status = await run;
  await provider.forceFlush();
}, 60_000);

afterAll(async () => {
  await provider.shutdown();
  trace.disable();
  context.disable();
  propagation.disable();
});

const spans = (): ReadableSpan[] => exporter.getFinishedSpans();
const linksTo = (span: ReadableSpan, producer: SpanContext | undefined): boolean =>
  span.links.some((l) => l.context.traceId === producer?.traceId && l.context.spanId === producer?.spanId);
const parentOf = (span: ReadableSpan): ReadableSpan | undefined => spans().find((s) => s.spanContext().spanId === span.parentSpanContext?.spanId);

describe('an event followed with traces', () => {
  it('from its producer span to the span of the insert that wrote its row', () => {
    expect(status?.rowsWritten).toBeGreaterThan(0);
    const inserts = spans().filter((s) => s.name === 'rxa.insert orders' && linksTo(s, producers.order));
    expect(inserts, 'an insert span linked to the producer of o-1').toHaveLength(1);
    const [insert] = inserts;
    expect(insert!.attributes).toMatchObject({ 'db.system.name': 'clickhouse', 'db.collection.name': 'orders', 'db.namespace': env.database });
    expect(insert!.attributes['rxa.rows']).toBeGreaterThanOrEqual(1);
    // Under the cut's span, which covers the pull and the operators and links to the same producer.
    const cut = parentOf(insert!);
    expect(cut?.name).toBe('rxa.process');
    expect(linksTo(cut!, producers.order)).toBe(true);
    expect(cut!.attributes).toMatchObject({ 'messaging.system': 'nats', 'messaging.destination.name': names.stream });
  });

  it('every cut is traced through its checkpoint and ack', () => {
    const acks = spans().filter((s) => s.name === 'rxa.ack');
    expect(acks.length).toBeGreaterThan(0);
    for (const ack of acks) {
      const checkpoint = parentOf(ack);
      expect(checkpoint?.name).toBe('rxa.checkpoint');
      expect(parentOf(checkpoint!)?.name).toBe('rxa.process');
    }
    expect(Math.max(...acks.map((a) => Number(a.attributes['rxa.seq.last'])))).toBe(status?.ackedSeq);
  });

  it('a dead letter carries its trace id and correlation id in the DLQ headers and in rxa_dead_letters', async () => {
    expect(status?.deadLetters).toBe(1);
    const consumer = await jetstream(env.nc).consumers.get(DEAD_LETTER_STREAM, {
      filter_subjects: `rxa.dlq.${names.name}.>`,
      deliver_policy: DeliverPolicy.All,
    });
    const letter = await consumer.next({ expires: 5_000 });
    await consumer.delete().catch(() => {});
    expect(letter?.headers?.get('Rxa-Trace-Id')).toBe(producers.bad?.traceId);
    expect(letter?.headers?.get('Rxa-Correlation-Id')).toBe('cart-4');
    const rows = await query(`SELECT stage, trace_id, correlation_id FROM rxa_dead_letters FINAL WHERE pipeline = '${names.name}'`);
    expect(rows).toEqual([{ stage: 'validate', trace_id: producers.bad?.traceId, correlation_id: 'cart-4' }]);
    // Its publish and insert are traced under a cut linked to its producer.
    expect(spans().some((s) => s.name === 'rxa.dead-letters' && linksTo(s, producers.bad))).toBe(true);
    expect(spans().some((s) => s.name === 'rxa.insert rxa_dead_letters' && linksTo(s, producers.bad))).toBe(true);
  });

  it('a late event carries its trace id and correlation id into rxa_late_events', async () => {
    expect(status?.lateEvents).toBe(1);
    const rows = await query(`SELECT stage, trace_id, correlation_id FROM rxa_late_events FINAL WHERE pipeline = '${names.name}'`);
    expect(rows).toEqual([{ stage: 'per-minute', trace_id: producers.late?.traceId, correlation_id: 'cart-3' }]);
    // Read views show them too.
    const current = await query(`SELECT trace_id FROM rxa_late_events_current WHERE pipeline = '${names.name}'`);
    expect(current).toEqual([{ trace_id: producers.late?.traceId }]);
  });
});

async function query(sql: string): Promise<unknown[]> {
  return (await env.chDb.query({ query: sql, format: 'JSONEachRow' })).json();
}
