import type { OperatorFunction } from 'rxjs';
import { type FixedWindowAssigner, FixedWindowEngine } from '../windows/fixed-window-engine.ts';
import { windowOperator } from '../windows/run-window-engine.ts';
import type { WindowKey } from '../windows/window-key.ts';
import { resolveWindowOptions, type WindowOptions } from '../windows/window-options.ts';
import type { WindowResult } from '../windows/window-types.ts';

export interface HoppingOptions<T, K extends WindowKey, S, A> extends WindowOptions<T, K, S, A> {
  /** Window length, ms. */
  sizeMs: number;
  /** Distance between window starts, ms (0 < slideMs <= sizeMs). Windows start at k * slideMs. */
  slideMs: number;
}

/**
 * Overlapping fixed-size event-time windows, per key: every window with start = k * slideMs and
 * start <= t < start + sizeMs receives the event (sizeMs / slideMs windows per event).
 *
 * Firing, lateness and early results work as in `tumbling`. A late event is added to those of its
 * windows still alive; only when all of them were purged does it go to the 'late' side output.
 *
 * @example
 * ```ts
 * clicks$.pipe(
 *   hopping({ sizeMs: 300_000, slideMs: 60_000, time: (e) => e.ts, aggregate: distinct((e) => e.user_id) }),
 * ); // active users over the last 5 minutes, every minute
 * ```
 */
export function hopping<T, K extends WindowKey = string, S = unknown, A = unknown>(
  options: HoppingOptions<T, K, S, A>,
): OperatorFunction<T, WindowResult<K, A>> {
  const { sizeMs, slideMs } = options;
  if (!(sizeMs > 0 && sizeMs < Infinity)) throw new Error(`hopping: sizeMs must be a positive number, got ${sizeMs}`);
  if (!(slideMs > 0 && slideMs <= sizeMs)) {
    throw new Error(`hopping: slideMs must be > 0 and <= sizeMs (${sizeMs}), got ${slideMs}`);
  }
  const assigner: FixedWindowAssigner = { kind: 'hopping', sizeMs, slideMs };
  const resolve = resolveWindowOptions('hopping', options);
  return windowOperator(
    'hopping',
    options.key !== undefined,
    resolve,
    (resolved, subscriber, side) => new FixedWindowEngine(assigner, resolved, subscriber, side),
  );
}
