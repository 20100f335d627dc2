/**
 * The options every window operator (`tumbling`, `hopping`, `session`) takes besides its own
 * window shape, and how they are resolved: defaults filled in and checked once, when the operator
 * is created.
 */

import type { SchedulerLike } from 'rxjs';
import { asyncScheduler } from 'rxjs';
import type { Aggregator } from '../aggregators/aggregator.ts';
import type { EventTime, SideOutput } from '../state/operator-scope.ts';
import { type HeldKey, heldKey, type WindowKey } from './window-key.ts';
import type { WindowKind } from './window-types.ts';

/** Periodic early (speculative) results in processing time. */
export interface EarlyFiring {
  /** Emit every window changed since its last emission this often (one timer per subscription). */
  everyMs: number;
  /** @default asyncScheduler */
  scheduler?: SchedulerLike;
}

/** Options shared by every window operator. */
export interface WindowOptions<T, K extends WindowKey, S, A> {
  /** Operator id for checkpoints, side outputs and metrics. @default derived by the scope (`tumbling#n`, ...) */
  id?: string;
  /**
   * Event time, epoch ms. @default the pipeline's `eventTime.time` (`definePipeline({ eventTime })`);
   * required outside a pipeline that declares one.
   */
  time?: (event: T) => number;
  /**
   * Group key; each key has its own windows: a string or number, or a tuple (`[e.category, e.url]`)
   * or record (`{ category: e.category, url: e.url }`) of them, which results carry as such.
   * @default () => '' (one global window)
   */
  key?: (event: T) => K;
  /** How events are folded into a window result, e.g. `count()`, `combine({ ... })`. */
  aggregate: Aggregator<T, S, A>;
  /**
   * Watermark = max event time seen - maxOutOfOrderMs. A window fires once the watermark passes its end.
   * @default the pipeline's `eventTime.maxOutOfOrderMs`, else 0
   */
  maxOutOfOrderMs?: number;
  /**
   * How long after firing a window still accepts (and re-emits for) late events, in event time.
   * Events later than that go to the 'late' side output.
   * @default the pipeline's `eventTime.allowedLatenessMs`, else 0
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

/**
 * Check the options given, when the operator is created (throws plain-message errors naming the
 * operator), and return how to complete them when it is subscribed: with the event time of the
 * pipeline scope it runs in, for what the options leave out.
 */
export function resolveWindowOptions<T, K extends WindowKey, S, A>(
  kind: WindowKind,
  options: WindowOptions<T, K, S, A>,
): (inherited: EventTime<never> | undefined) => ResolvedWindowOptions<T, HeldKey, S, A> {
  checkDuration(kind, 'maxOutOfOrderMs', options.maxOutOfOrderMs);
  checkDuration(kind, 'allowedLatenessMs', options.allowedLatenessMs);
  const early = options.earlyFiring;
  if (early && !(early.everyMs > 0 && early.everyMs < Infinity)) {
    throw new Error(`${kind}: earlyFiring.everyMs must be a positive number, got ${early.everyMs}`);
  }
  const base = {
    id: options.id,
    key: options.key ? heldKey(options.key) : (globalKey as (event: T) => HeldKey),
    aggregate: options.aggregate,
    earlyFiring: early ? { everyMs: early.everyMs, scheduler: early.scheduler ?? asyncScheduler } : undefined,
    flushEarly: options.flushEarly ?? kind !== 'session',
    sideOutput: options.sideOutput,
  };
  return (inherited) => {
    const time = options.time ?? (inherited?.time as ((event: T) => number) | undefined);
    if (time === undefined) {
      throw new Error(`${kind}: no event time; pass 'time', or declare 'eventTime' in definePipeline and subscribe inside the pipeline`);
    }
    return {
      ...base,
      time,
      maxOutOfOrderMs: options.maxOutOfOrderMs ?? inherited?.maxOutOfOrderMs ?? 0,
      allowedLatenessMs: options.allowedLatenessMs ?? inherited?.allowedLatenessMs ?? 0,
    };
  };
}

/** A watermark delay or lateness: a number >= 0 (Infinity allowed), or not given. */
export function checkDuration(owner: string, name: string, value: number | undefined): void {
  if (value !== undefined && !(value >= 0)) throw new Error(`${owner}: ${name} must be >= 0, got ${value}`);
}
