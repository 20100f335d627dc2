import { randomBytes } from 'node:crypto';
import { headers, type MsgHdrs } from '@nats-io/transport-node';
import { TRACE_PARENT_HEADER } from '../core/trace-context.ts';

/**
 * The headers of an instrumented producer's message for `--trace-sample` (bench/tracing.ts): its
 * span's `traceparent`, propagated whether the span was sampled or not, sampled with probability
 * `ratio`.
 */
export function producerHeaders(ratio: number): MsgHdrs {
  const h = headers();
  const ids = randomBytes(24).toString('hex');
  h.set(TRACE_PARENT_HEADER, `00-${ids.slice(0, 32)}-${ids.slice(32)}-${Math.random() < ratio ? '01' : '00'}`);
  return h;
}
