/**
 * What the fixed windows' engine (`fixed-window-engine.ts`) and the sessions' (`session-engine.ts`) share:
 * event time and the watermark, dead-lettering events without a usable time, late events to the
 * side output, completion, and the operator's stats. Each engine assigns events to its windows
 * and fires them as the watermark advances.
 */
import type { Subscriber } from 'rxjs';
import type { Aggregator } from '../aggregators/aggregator.ts';
import { eventTimeError } from '../state/event-time.ts';
import { eventAsJson, type Origin, type SideOutput } from '../state/operator-scope.ts';
import type { ResolvedWindowOptions } from './window-options.ts';
import type { TakenWindowSnapshot } from './window-snapshot.ts';
import type { WindowResult } from './window-types.ts';

export abstract class EventTimeEngine<T, K extends string | number, S, A> {
  stage: string;
  protected maxTime = -Infinity;
  protected watermark = -Infinity;
  protected readonly timeOf: (event: T) => number;
  protected readonly keyOf: (event: T) => K;
  protected readonly agg: Aggregator<T, S, A>;
  protected readonly outOfOrder: number;
  protected readonly lateness: number;
  private seen = 0;
  private lateCount = 0;
  private invalid = 0;
  /** Windows (or sessions) alive. */
  protected windowsOpen = 0;
  /** Emissions, early and final. */
  protected fired = 0;

  constructor(
    defaultStage: string,
    options: ResolvedWindowOptions<T, K, S, A>,
    protected readonly subscriber: Subscriber<WindowResult<K, A>>,
    private readonly side: (output: SideOutput, origin?: Origin) => void,
  ) {
    this.stage = options.id ?? defaultStage;
    this.timeOf = options.time;
    this.keyOf = options.key;
    this.agg = options.aggregate;
    this.outOfOrder = options.maxOutOfOrderMs;
    this.lateness = options.allowedLatenessMs;
  }

  /** Fold `event` (event time `t`) into its windows, or report it late. */
  protected abstract assign(event: T, t: number, key: K): void;
  /** Fire and purge what the new watermark closes; a no-op unless it moved forward. */
  protected abstract advance(watermark: number): void;
  /** Emit every window changed since its last emission (final: false), in window order. */
  abstract flush(): void;
  abstract snapshot(): TakenWindowSnapshot;
  abstract restore(json: unknown): void;

  next(event: T): void {
    const subscriber = this.subscriber;
    try {
      this.seen++;
      const t = this.timeOf(event);
      if (!Number.isFinite(t)) {
        // Not a number, or not finite at the first event: a definition bug (state/event-time.ts).
        const error = eventTimeError(this.stage, t, this.seen === 1);
        if (error) throw error;
        this.invalid++;
        this.side({ kind: 'dead-letter', stage: this.stage, reason: `invalid event time: ${t}`, payload: eventAsJson(event) });
        return;
      }
      this.assign(event, t, this.keyOf(event));
      if (t > this.maxTime && !subscriber.closed) {
        this.maxTime = t;
        this.advance(t - this.outOfOrder);
      }
    } catch (err) {
      subscriber.error(err);
    }
  }

  complete(): void {
    try {
      // End of a bounded input: the watermark jumps to +Infinity and every window is final.
      this.advance(Infinity);
    } catch (err) {
      this.subscriber.error(err);
      return;
    }
    this.subscriber.complete();
  }

  stats(): Readonly<Record<string, number>> {
    return {
      in: this.seen,
      late: this.lateCount,
      invalid: this.invalid,
      windowsOpen: this.windowsOpen,
      fired: this.fired,
      watermark: this.watermark,
    };
  }

  protected reportLate(event: T, t: number): void {
    this.lateCount++;
    this.side({ kind: 'late', stage: this.stage, event, eventTime: t, watermark: this.watermark });
  }
}
