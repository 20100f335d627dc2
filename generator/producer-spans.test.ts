/** `rxa gen` traced: events encoded inside producer spans of `eventsPerSpan` events, each carrying its span's traceparent. */
import { jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { context, propagation, trace } from '@opentelemetry/api';
import { AlwaysOnSampler, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configFromEnv } from '../core/config.ts';
import { eventPublisher } from '../core/event-publisher.ts';
import { producerSpanContext } from '../core/trace-context.ts';
import clickstream from '../pipelines/clickstream.ts';
import { generateClickstream } from './clickstream.ts';
import { withProducerSpans } from './producer-spans.ts';

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ sampler: new AlwaysOnSampler(), spanProcessors: [new SimpleSpanProcessor(exporter)] });
let nc: NatsConnection;

beforeAll(async () => {
  provider.register();
  nc = await connect({ servers: configFromEnv().nats.servers });
});
afterAll(async () => {
  await nc.close();
  await provider.shutdown();
  trace.disable();
  context.disable();
  propagation.disable();
});

describe('withProducerSpans', () => {
  it('encodes each event inside a producer span of its batch, whose traceparent it carries', () => {
    // Encoding only: nothing is published.
    const publisher = withProducerSpans(eventPublisher(jetstream(nc), clickstream), 'CLICKSTREAM', 100);
    const events = [];
    for (const message of generateClickstream({ seed: 3, startTime: Date.now(), eventsPerSecond: 100, duplicateRate: 0, malformedRate: 0 })) {
      if (message.kind === 'valid' && message.addedField === undefined) events.push(message.event);
      if (events.length === 250) break;
    }
    const parents = events.map((event) => producerSpanContext((name) => publisher.encode(event).headers.get(name) || undefined));
    publisher.end();
    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => [s.name, s.kind])).toEqual([
      ['send CLICKSTREAM', 3],
      ['send CLICKSTREAM', 3],
      ['send CLICKSTREAM', 3],
    ]);
    expect(parents.map((p) => p?.spanId)).toEqual(events.map((_, i) => spans[Math.floor(i / 100)]!.spanContext().spanId));
    expect(spans[0]!.attributes).toMatchObject({ 'messaging.system': 'nats', 'messaging.destination.name': 'CLICKSTREAM' });
  });
});
