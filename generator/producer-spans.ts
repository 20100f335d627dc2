import { context, type Span, SpanKind, trace } from '@opentelemetry/api';
import type { EncodedEvent, EventPublisher, PublishEventOptions } from '../core/event-publisher.ts';

/**
 * `rxa gen` as a traced producer: events are encoded inside a producer span, one per
 * `eventsPerSpan` events, so each carries that span's `traceparent` (core/event-publisher.ts) and
 * the pipeline's spans link to it. One span per event would be one exported span per event.
 */
export interface ProducerSpans<E> extends Pick<EventPublisher<E>, 'encode'> {
  /** End the last span. */
  end(): void;
}

export function withProducerSpans<E>(publisher: Pick<EventPublisher<E>, 'encode'>, destination: string, eventsPerSpan = 100): ProducerSpans<E> {
  const tracer = trace.getTracer('rxstream-analytics');
  let span: Span | undefined;
  let inSpan = 0;
  return {
    encode(event: E, options?: PublishEventOptions): EncodedEvent {
      if (span === undefined || inSpan === eventsPerSpan) {
        span?.end();
        span = tracer.startSpan(`send ${destination}`, {
          kind: SpanKind.PRODUCER,
          // The messaging conventions are incubating: names as OpenTelemetry defines them (see core/cut-tracing.ts).
          attributes: { 'messaging.system': 'nats', 'messaging.destination.name': destination, 'messaging.operation.type': 'send' },
        });
        inSpan = 0;
      }
      inSpan++;
      const current = span;
      return context.with(trace.setSpan(context.active(), current), () => publisher.encode(event, options));
    },
    end(): void {
      span?.end();
      span = undefined;
    },
  };
}
