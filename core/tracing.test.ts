/**
 * Tracing is off unless the OTEL_* variables ask for it, and off, nothing of the SDK is loaded and
 * the runner gets no cut tracing (so no message is looked at for it).
 */
import { createRequire } from 'node:module';
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { configFromEnv } from './config.ts';
import { eventPublisher } from './event-publisher.ts';
import { cutTracing, startTracing, tracingActive, tracingRequest } from './tracing.ts';

describe('tracingRequest', () => {
  it('exports only when the variables say so', () => {
    expect(tracingRequest({}).exporters).toEqual([]);
    expect(tracingRequest({ OTEL_SERVICE_NAME: 'shop' }).exporters).toEqual([]);
    expect(tracingRequest({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://tempo:4318' }).exporters).toEqual(['otlp']);
    expect(tracingRequest({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://tempo:4318/v1/traces' }).exporters).toEqual(['otlp']);
    expect(tracingRequest({ OTEL_TRACES_EXPORTER: 'otlp' }).exporters).toEqual(['otlp']);
    expect(tracingRequest({ OTEL_TRACES_EXPORTER: 'console, otlp' }).exporters).toEqual(['console', 'otlp']);
    expect(tracingRequest({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://tempo:4318' }).exporters).toEqual([]);
    expect(tracingRequest({ OTEL_SDK_DISABLED: 'true', OTEL_TRACES_EXPORTER: 'otlp' }).exporters).toEqual([]);
    expect(tracingRequest({ OTEL_SDK_DISABLED: 'false', OTEL_TRACES_EXPORTER: 'otlp' }).exporters).toEqual(['otlp']);
  });

  it('says what it does not support', () => {
    expect(tracingRequest({ OTEL_TRACES_EXPORTER: 'zipkin,otlp' })).toEqual({
      exporters: ['otlp'],
      warnings: ["OTEL_TRACES_EXPORTER: 'zipkin' is not supported (otlp, console, none)"],
    });
    expect(tracingRequest({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://tempo:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }).warnings).toEqual([
      "OTLP protocol 'grpc' is not supported: traces are exported as http/protobuf",
    ]);
  });
});

describe('with tracing off', () => {
  it('loads no SDK, gives the runner no cut tracing, and publishes no traceparent', async () => {
    const logs: string[] = [];
    const tracing = await startTracing({ env: {}, log: (m) => logs.push(m) });
    expect(tracing.enabled).toBe(false);
    expect(tracingActive()).toBe(false);
    expect(await cutTracing({ pipeline: 'p', stream: 'S', consumer: 'c', partition: 0, database: 'd' })).toBeUndefined();
    // The SDK's packages are CommonJS: loaded, they would be in the require cache.
    const loaded = Object.keys(createRequire(import.meta.url).cache).filter((path) => /@opentelemetry[\\/](sdk-|exporter-|resources)/.test(path));
    expect(loaded).toEqual([]);
    // A span started through the API is a no-op, and an event published inside it carries no traceparent.
    const span = trace.getTracer('test').startSpan('send');
    expect(span.isRecording()).toBe(false);
    const nc = await connect({ servers: configFromEnv().nats.servers });
    try {
      const publisher = eventPublisher(jetstream(nc), { name: 'orders', schema: z.object({ id: z.string() }) });
      const { headers } = publisher.encode({ id: 'o-1' }, { correlationId: 'cart-1' });
      expect(headers.has('traceparent')).toBe(false);
      expect(headers.get('ce-correlationid')).toBe('cart-1');
    } finally {
      await nc.close();
    }
    await tracing.shutdown();
    expect(logs).toEqual([]);
  });
});
