import type { SpanContext } from '@opentelemetry/api';
import { parseTraceParent, TRACE_PARENT_HEADER } from '@opentelemetry/core';

/**
 * What a message's headers say about where it came from: the producer's span (W3C Trace Context's
 * `traceparent`) and the business correlation id (`ce-correlationid`). Read for dead letters and
 * late events always, and for every message only while tracing is on (core/cut-tracing.ts).
 */

export { TRACE_PARENT_HEADER };

/**
 * The correlation id's header: a CloudEvents extension attribute (`correlationid`, in the NATS
 * binding's `ce-` form). CloudEvents defines no correlation attribute of its own; this is rxa's
 * convention, which `eventPublisher` stamps (`correlationId`).
 */
export const CORRELATION_ID_HEADER = 'ce-correlationid';

/** A message's header by name (any case), as the engine's records read them; absent: a message without headers. */
export type HeaderReader = ((name: string) => string | undefined) | undefined;

/** The producer's span context from `traceparent` (parsed by OpenTelemetry's W3C propagator), if the header is there and valid. */
export function producerSpanContext(header: HeaderReader): SpanContext | undefined {
  const value = header?.(TRACE_PARENT_HEADER);
  if (value === undefined) return undefined;
  const parsed = parseTraceParent(value);
  return parsed === null ? undefined : { ...parsed, isRemote: true };
}

/** The trace id of the producer's span ('' without a valid `traceparent`). */
export function traceIdOf(header: HeaderReader): string {
  return producerSpanContext(header)?.traceId ?? '';
}

/** The message's correlation id ('' without one). */
export function correlationIdOf(header: HeaderReader): string {
  return header?.(CORRELATION_ID_HEADER) ?? '';
}
