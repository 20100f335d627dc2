/**
 * The options every window operator (`tumbling`, `hopping`, `session`) takes besides its own
 * window shape, and how they are resolved: defaults filled in and checked once, when the operator
 * is created.
 */

import type { SchedulerLike } from 'rxjs';
import { asyncScheduler } from 'rxjs';
import type { Aggregator } from '../aggregators/aggregator.ts';
import type { SideOutput } from '../state/operator-scope.ts';
import type { WindowKind } from './window-types.ts';

/** Periodic early (speculative) results in processing time. */
export interface EarlyFiring {
  /** Emit every window changed since its last emission this often (one timer per subscription). */
  everyMs: number;
  /** @default asyncScheduler */
  scheduler?: SchedulerLike;
}

/** Options shared by every window operator. */
export interface WindowOptions<T, K extends string | number, S, A> {
  /** Operator id for checkpoints, side outputs and metrics. @default derived by the scope (`tumbling#n`, ...) */
  id?: string;
  /** Event time, epoch ms. */
  time: (event: T) => number;
  /** Group key; each key has its own windows. @default () => '' (one global window) */
  key?: (event: T) => K;
  /** How events are folded into a window result, e.g. `count()`, `combine({ ... })`. */
  aggregate: Aggregator<T, S, A>;
  /**
   * Watermark = max event time seen - maxOutOfOrderMs. A window fires once the watermark passes its end.
   * @default 0
   */
  maxOutOfOrderMs?: number;
  /**
   * How long after firing a window still accepts (and re-emits for) late events, in event time.
   * Events later than that go to the 'late' side output.
   * @default 0
   */
  allowedLatenessMs?: number;
  /** Emit changed windows periodically in processing time. @default none (the runner calls flush()) */
  earlyFiring?: EarlyFiring;
  /**
   * Emit partial results when the pipeline runner flushes (before every write), so dashboards are
   * live before the window closes. @default true; false for `session`, because a session's start —
   * the key of its row — can still move (merge) until the session is final.
   */
  flushEarly?: boolean;
  /** Where late events go. @default the pipeline scope's side output (required outside a scope) */
  sideOutput?: (output: SideOutput) => void;
}

export interface ResolvedWindowOptions<T, K extends string | number, S, A> {
  readonly id: string | undefined;
  readonly time: (event: T) => number;
  readonly key: (event: T) => K;
  readonly aggregate: Aggregator<T, S, A>;
  readonly maxOutOfOrderMs: number;
  readonly allowedLatenessMs: number;
  readonly earlyFiring: { readonly everyMs: number; readonly scheduler: SchedulerLike } | undefined;
  readonly flushEarly: boolean;
  readonly sideOutput: ((output: SideOutput) => void) | undefined;
}

const globalKey = (): string => '';

/** Fill defaults and validate; throws plain-message errors naming the operator. */
export function resolveWindowOptions<T, K extends string | number, S, A>(
  kind: WindowKind,
  options: WindowOptions<T, K, S, A>,
): ResolvedWindowOptions<T, K, S, A> {
  const maxOutOfOrderMs = options.maxOutOfOrderMs ?? 0;
  const allowedLatenessMs = options.allowedLatenessMs ?? 0;
  if (!(maxOutOfOrderMs >= 0)) throw new Error(`${kind}: maxOutOfOrderMs must be >= 0, got ${maxOutOfOrderMs}`);
  if (!(allowedLatenessMs >= 0)) throw new Error(`${kind}: allowedLatenessMs must be >= 0, got ${allowedLatenessMs}`);
  const early = options.earlyFiring;
  if (early && !(early.everyMs > 0 && early.everyMs < Infinity)) {
    throw new Error(`${kind}: earlyFiring.everyMs must be a positive number, got ${early.everyMs}`);
  }
  return {
    id: options.id,
    time: options.time,
    key: options.key ?? (globalKey as unknown as (event: T) => K),
    aggregate: options.aggregate,
    maxOutOfOrderMs,
    allowedLatenessMs,
    earlyFiring: early ? { everyMs: early.everyMs, scheduler: early.scheduler ?? asyncScheduler } : undefined,
    flushEarly: options.flushEarly ?? kind !== 'session',
    sideOutput: options.sideOutput,
  };
}
