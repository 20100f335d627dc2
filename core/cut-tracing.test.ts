/**
 * The spans of a cut: sampled when the cut holds an event its producer sampled (whatever the ratio),
 * linked to those producers (at most MAX_LINKS), and to those of the side outputs it writes.
 */
import { context, propagation, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CutTracing, MAX_LINKS } from './cut-tracing.ts';
import type { SideOutputTrace } from './engine.ts';
import { producerSpanContext } from './trace-context.ts';
import { samplerFromEnv } from './tracing-sdk.ts';

const exporter = new InMemorySpanExporter();
// No root is sampled: only links to sampled producers make a cut's trace.
const provider = new NodeTracerProvider({
  sampler: samplerFromEnv({ OTEL_TRACES_SAMPLER: 'always_off' }),
  spanProcessors: [new SimpleSpanProcessor(exporter)],
});
beforeAll(() => provider.register());
afterAll(async () => {
  await provider.shutdown();
  trace.disable();
  context.disable();
  propagation.disable();
});

const target = { pipeline: 'orders', stream: 'ORDERS', consumer: 'orders', partition: 0, database: 'analytics' };
const traceparent = (i: number, sampled: boolean): string => `00-${i.toString(16).padStart(32, '0')}-${'b'.repeat(16)}-${sampled ? '01' : '00'}`;
const headers = (value: string) => (name: string) => (name === 'traceparent' ? value : undefined);

describe('CutTracing', () => {
  it('traces no cut without a sampled producer, and reads messages without headers for nothing', () => {
    const tracing = new CutTracing(target);
    tracing.observe(1, undefined);
    tracing.observe(2, headers(traceparent(1, false)));
    // Flags whose sampled bit is off, a malformed value.
    tracing.observe(3, headers(`00-${'a'.repeat(32)}-${'b'.repeat(16)}-0a`));
    tracing.observe(4, headers('00-not-a-traceparent-01'));
    expect(tracing.take([], false)).toBeUndefined();
    expect(tracing.take([], false)).toBeUndefined(); // nothing since
    expect(exporter.getFinishedSpans()).toEqual([]);
  });

  it('samples a cut holding a sampled event, links its producers up to MAX_LINKS, then its inserts and ack under it', async () => {
    exporter.reset();
    const tracing = new CutTracing(target);
    tracing.observe(1, headers(`00-${'a'.repeat(32)}-${'b'.repeat(16)}-0b`)); // sampled, with another flag
    for (let seq = 2; seq <= MAX_LINKS + 10; seq++) tracing.observe(seq, headers(traceparent(seq, true)));
    const cut = tracing.take([], false);
    expect(cut).toBeDefined();
    await cut!.insert('orders', 3, 120, async () => 'written');
    await cut!.checkpoint(MAX_LINKS + 10, async (under) => under.ack(MAX_LINKS + 10, () => {}));
    const [process, insert, ack, checkpoint] = exporter.getFinishedSpans();
    expect(process!.name).toBe('rxa.process');
    expect(process!.links).toHaveLength(MAX_LINKS);
    expect(process!.links[0]!.context.traceId).toBe('a'.repeat(32));
    expect(process!.attributes).toMatchObject({ 'messaging.batch.message_count': MAX_LINKS + 10, 'rxa.links.unread': 10, 'rxa.seq.first': 1 });
    expect(insert!.name).toBe('rxa.insert orders');
    expect(insert!.parentSpanContext?.spanId).toBe(process!.spanContext().spanId);
    expect(insert!.attributes).toMatchObject({ 'db.system.name': 'clickhouse', 'db.collection.name': 'orders', 'rxa.rows': 3, 'rxa.bytes': 120 });
    expect(ack!.parentSpanContext?.spanId).toBe(checkpoint!.spanContext().spanId);
  });

  it('links the producers of side outputs whose messages came in an earlier cut', () => {
    exporter.reset();
    const tracing = new CutTracing(target);
    const producer = producerSpanContext(headers(traceparent(7, true)));
    const late: SideOutputTrace = { producer, traceId: producer!.traceId, correlationId: 'cart-7' };
    const cut = tracing.take([late], false);
    expect(cut).toBeDefined();
    const [process] = exporter.getFinishedSpans();
    expect(process!.links.map((l) => l.context.traceId)).toEqual([producer!.traceId]);
    expect(process!.attributes['rxa.seq.first']).toBeUndefined();
  });

  it('puts the checkpoint of a cut that read nothing under the last cut that read messages', () => {
    const tracing = new CutTracing(target);
    tracing.observe(1, headers(traceparent(1, true)));
    const read = tracing.take([], false);
    expect(read).toBeDefined();
    expect(tracing.take([], false)).toBeUndefined(); // early results alone: not traced
    expect(tracing.take([], true)).toBe(read); // its checkpoint acks what `read` read
    tracing.observe(2, headers(traceparent(2, false)));
    expect(tracing.take([], false)).toBeUndefined();
    expect(tracing.take([], true)).toBeUndefined(); // the last messages' cut was not sampled
  });
});
