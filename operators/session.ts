import type { OperatorFunction } from 'rxjs';
import { windowOperator } from '../windows/run-window-engine.ts';
import { SessionEngine } from '../windows/session-engine.ts';
import type { WindowKey } from '../windows/window-key.ts';
import { resolveWindowOptions, type WindowOptions } from '../windows/window-options.ts';
import type { WindowResult } from '../windows/window-types.ts';

export interface SessionOptions<T, K extends WindowKey, S, A> extends WindowOptions<T, K, S, A> {
  /** Inactivity gap, ms: an event at t covers [t, t + gapMs); overlapping sessions of a key merge. */
  gapMs: number;
}

/**
 * Per-key session windows in event time. A session is [first event time, last event time + gapMs);
 * an event within the gap extends it, and an out-of-order event that bridges two sessions merges them
 * (with `aggregate.merge`). Firing and lateness work as in `tumbling`, using the session end.
 * Sessions are emitted final only (no partial results on the runner's flush, see `flushEarly`):
 * an early result could later be merged into an earlier session and leave a row behind.
 *
 * @example
 * ```ts
 * clicks$.pipe(
 *   session({ gapMs: 300_000, time: (e) => e.ts, key: (e) => e.user_id, aggregate: count() }),
 * ); // one final result per user session
 * ```
 */
export function session<T, K extends WindowKey = string, S = unknown, A = unknown>(
  options: SessionOptions<T, K, S, A>,
): OperatorFunction<T, WindowResult<K, A>> {
  const { gapMs } = options;
  if (!(gapMs > 0 && gapMs < Infinity)) throw new Error(`session: gapMs must be a positive number, got ${gapMs}`);
  const resolve = resolveWindowOptions('session', options);
  return windowOperator('session', options.key !== undefined, resolve, (resolved, subscriber, side) => new SessionEngine(gapMs, resolved, subscriber, side));
}
