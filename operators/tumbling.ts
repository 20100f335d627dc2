import type { OperatorFunction } from 'rxjs';
import { type FixedWindowAssigner, FixedWindowEngine } from '../windows/fixed-window-engine.ts';
import { windowOperator } from '../windows/run-window-engine.ts';
import type { WindowKey } from '../windows/window-key.ts';
import { resolveWindowOptions, type WindowOptions } from '../windows/window-options.ts';
import type { WindowResult } from '../windows/window-types.ts';

export interface TumblingOptions<T, K extends WindowKey, S, A> extends WindowOptions<T, K, S, A> {
  /** Window length, ms. Windows are [k * sizeMs, (k + 1) * sizeMs): an event exactly on a boundary opens the next one. */
  sizeMs: number;
}

/**
 * Fixed-size, non-overlapping event-time windows, per key.
 *
 * Each window is emitted when the watermark passes its end (`final: true` once allowed lateness has
 * passed too), re-emitted for late events within allowed lateness, and early on `flush()` or
 * `earlyFiring`. Events too late for their window go to the 'late' side output.
 *
 * @example
 * ```ts
 * clicks$.pipe(
 *   tumbling({ sizeMs: 60_000, time: (e) => e.ts, key: (e) => e.url, aggregate: count(), maxOutOfOrderMs: 5_000 }),
 * ); // Observable<WindowResult<string, number>>
 * ```
 */
export function tumbling<T, K extends WindowKey = string, S = unknown, A = unknown>(
  options: TumblingOptions<T, K, S, A>,
): OperatorFunction<T, WindowResult<K, A>> {
  const { sizeMs } = options;
  if (!(sizeMs > 0 && sizeMs < Infinity)) throw new Error(`tumbling: sizeMs must be a positive number, got ${sizeMs}`);
  const assigner: FixedWindowAssigner = { kind: 'tumbling', sizeMs, slideMs: sizeMs };
  const resolve = resolveWindowOptions('tumbling', options);
  return windowOperator(
    'tumbling',
    options.key !== undefined,
    resolve,
    (resolved, subscriber, side) => new FixedWindowEngine(assigner, resolved, subscriber, side),
  );
}
