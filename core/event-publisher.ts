import { randomUUID } from 'node:crypto';
import type { JetStreamClient, PubAck } from '@nats-io/jetstream';
import { type MsgHdrs, headers as natsHeaders } from '@nats-io/transport-node';
import { context, isSpanContextValid, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { z } from 'zod';
import { CE_DATASCHEMA_HEADER, CE_ID_HEADER, VERSION_HEADER } from '../operators/event-versions.ts';
import { type FieldPlan, fieldPlan, findUnknownFields } from '../operators/unknown-fields.ts';
import { type ResolvedContract, resolveContract } from './event-contract.ts';
import type { PipelineDefinition } from './pipeline.ts';
import { CORRELATION_ID_HEADER } from './trace-context.ts';

/**
 * The producer's side of an event contract: events checked against the pipeline's current schema
 * (every field it declares, no other) and published with the version stamped in a header, so the
 * pipeline reads each one with the right version, however the schema evolves (docs/contracts.md).
 * Published while a span is active (OpenTelemetry's context), an event carries its `traceparent`.
 */
export interface EventPublisherOptions {
  /**
   * Also stamp CloudEvents' NATS binding attributes: `ce-specversion` 1.0, `ce-type` (the contract's
   * type), `ce-source` (this), `ce-id`, `ce-time` and `ce-dataschema` (the version's URI).
   * @default off: only `rxa-schema-version`
   */
  cloudEvents?: { source: string };
}

/** Per event: its CloudEvents id (default: the msgID, else a random UUID) and time (default: now). */
export interface PublishEventOptions {
  /** `Nats-Msg-Id`: JetStream drops a re-send with the same id within the stream's duplicate window. */
  msgID?: string;
  id?: string;
  time?: Date;
  /**
   * The business correlation id (an order, a request), stamped as `ce-correlationid`: dead letters
   * and late events of this event carry it (docs/contracts.md).
   */
  correlationId?: string;
}

/** Writes `traceparent` (and `tracestate`) of the active span, the W3C way, whatever propagator is registered globally. */
const traceContext = new W3CTraceContextPropagator();
const headerSetter = { set: (carrier: MsgHdrs, key: string, value: string) => carrier.set(key, value) };

export interface EncodedEvent {
  readonly payload: Uint8Array;
  readonly headers: MsgHdrs;
}

export class EventPublisher<E> {
  private readonly parser: { safeParse: (input: unknown) => z.ZodSafeParseResult<unknown> };
  private readonly plan: FieldPlan;
  private readonly encoder = new TextEncoder();
  private readonly contract: ResolvedContract;

  constructor(
    private readonly js: JetStreamClient,
    definition: Pick<PipelineDefinition, 'name' | 'schema' | 'contract'>,
    private readonly options: EventPublisherOptions = {},
  ) {
    this.contract = resolveContract(definition);
    this.parser = z.compile(definition.schema);
    this.plan = fieldPlan(definition.schema);
  }

  /** The event as published: its JSON, and the headers naming its version. Throws on an event the schema refuses. */
  encode(event: E, options: PublishEventOptions = {}): EncodedEvent {
    const unknown: string[] = [];
    findUnknownFields(this.plan, event, (field) => unknown.push(field.path));
    if (unknown.length > 0)
      throw new Error(`${this.contract.type}: field${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} not in version ${this.contract.version}`);
    const result = this.parser.safeParse(event);
    if (!result.success) {
      const issues = result.error.issues.map((i) => `${i.path.join('.') || '(event)'}: ${i.message}`).slice(0, 5);
      throw new Error(`${this.contract.type}: not a valid version ${this.contract.version} event: ${issues.join('; ')}`);
    }
    return { payload: this.encoder.encode(JSON.stringify(event)), headers: this.headers(options) };
  }

  /** Check, encode and publish `event` on `subject`; resolves with JetStream's ack. */
  publish(subject: string, event: E, options: PublishEventOptions = {}): Promise<PubAck> {
    const { payload, headers } = this.encode(event, options);
    return this.js.publish(subject, payload, { headers, ...(options.msgID !== undefined ? { msgID: options.msgID } : {}) });
  }

  private headers(options: PublishEventOptions): MsgHdrs {
    const h = natsHeaders();
    const { version, type } = this.contract;
    h.set(VERSION_HEADER, String(version));
    const cloudEvents = this.options.cloudEvents;
    if (cloudEvents) {
      h.set('ce-specversion', '1.0');
      h.set('ce-type', type);
      h.set('ce-source', cloudEvents.source);
      h.set(CE_ID_HEADER, options.id ?? options.msgID ?? randomUUID());
      h.set('ce-time', (options.time ?? new Date()).toISOString());
      h.set(CE_DATASCHEMA_HEADER, this.contract.dataschema(version));
    }
    if (options.correlationId !== undefined) h.set(CORRELATION_ID_HEADER, options.correlationId);
    // Published inside a span (the producer's): the pipeline's spans link to it (docs/contracts.md).
    const active = context.active();
    const span = trace.getSpanContext(active);
    if (span !== undefined && isSpanContextValid(span)) traceContext.inject(active, h, headerSetter);
    return h;
  }
}

/**
 * A publisher of `definition`'s events (its current version): `publish(subject, event)` checks the
 * event and stamps its version.
 *
 * @example
 * ```ts
 * const publisher = eventPublisher(jetstream(nc), ordersPipeline, { cloudEvents: { source: 'shop/checkout' } });
 * await publisher.publish('orders.new', { order_id: 'o-1', product: 'tea', quantity: 2, unit_price: 3.5, ts: Date.now() });
 * ```
 */
export function eventPublisher<S extends z.ZodType>(
  js: JetStreamClient,
  definition: Pick<PipelineDefinition<S>, 'name' | 'schema' | 'contract'>,
  options?: EventPublisherOptions,
): EventPublisher<z.input<S>> {
  return new EventPublisher<z.input<S>>(js, definition as Pick<PipelineDefinition, 'name' | 'schema' | 'contract'>, options);
}
