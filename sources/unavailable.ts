import { JetStreamApiError, JetStreamError } from '@nats-io/jetstream';
import { errors } from '@nats-io/transport-node';
import { logRetries, retry } from '../common/retry.ts';

/**
 * JetStream API errors of a cluster between leaders (nats-server 2.9): "JetStream system
 * temporarily unavailable" and "JetStream cluster can not handle request" (a server that is not
 * the meta leader, or lost it).
 */
const CLUSTER_UNAVAILABLE_CODES = new Set([10008, 10009]);

/**
 * Whether `error` says JetStream could not answer just now, not that the request was wrong: a
 * request that timed out, found no responder (nats.js reports that as "jetstream is not enabled")
 * or lost its connection, or an API error with status 503 or of a cluster without a leader. That is what a
 * server restart or a leader election looks like (5-20 s on nats-server 2.9 after a leader is
 * killed): the same request succeeds once the stream, consumer or meta group has a leader again.
 * A publish that timed out may have been stored: retry it with the same `Nats-Msg-Id`, or
 * compare-and-set, so that the retry cannot store it twice.
 */
export function isUnavailable(error: unknown): boolean {
  if (error instanceof errors.TimeoutError || error instanceof errors.NoRespondersError) return true;
  // No answer: no responder, or the connection dropped under the request; a closed connection is final.
  if (error instanceof errors.RequestError) return error.message !== 'connection closed';
  if (!(error instanceof Error)) return false;
  // (JetStreamNotEnabled and JetStreamStatusError are not exported by @nats-io/jetstream: told by name.)
  // An account without JetStream is reported so too, with the API error as `cause`: that one is not transient.
  if (error.name === 'JetStreamNotEnabled') return !(error.cause instanceof JetStreamApiError);
  if (error instanceof JetStreamApiError) return error.status === 503 || CLUSTER_UNAVAILABLE_CODES.has(error.code);
  // A pull's status message: 503 when the consumer has no leader to take it.
  if (error instanceof JetStreamError && error.name === 'JetStreamStatusError') return (error as JetStreamError & { code?: unknown }).code === 503;
  return false;
}

/**
 * Run `step` until it succeeds, again after each failure that `isUnavailable` (with backoff, up to
 * 5 s apart, logged as `logRetries` does) until `signal` aborts; any other error is thrown at once.
 * For idempotent steps: reads, creates that find what exists, compare-and-set writes.
 */
export function retryWhileUnavailable<T>(
  step: () => Promise<T>,
  what: string,
  options: { signal?: AbortSignal | undefined; log: (message: string) => void },
): Promise<T> {
  return retry(step, { retryable: isUnavailable, ...(options.signal ? { signal: options.signal } : {}), onRetry: logRetries(options.log, what) });
}
