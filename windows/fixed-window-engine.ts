/**
 * The event-time window operator behind `tumbling`, `hopping` and `session`, and the engine of the
 * fixed windows (sessions have their own, over typed arrays: `session-engine.ts`).
 *
 * Per subscription it keeps, for each key, the windows still alive, and two min-heaps of
 * windows ordered by (end, key first-seen rank, start):
 * - `open`: windows whose end is after the watermark (not fired yet),
 * - `late`: windows fired on time but kept for allowed lateness (end <= watermark < end + lateness).
 * A watermark advance pops `late` (purge, final) and then `open` (fire, or purge when lateness is
 * already exceeded), which emits in window-end order without scanning. There are no per-event timers
 * or allocations besides new windows and emitted results.
 */
import { Observable, asyncScheduler } from 'rxjs';
import type { OperatorFunction, SchedulerAction, SchedulerLike, Subscriber } from 'rxjs';
import type { Aggregator } from '../aggregators/combine.ts';
import { EventTimeEngine } from './event-time-engine.ts';
import { currentScope, resolveSideOutput } from '../state/operator-scope.ts';
import { SessionEngine } from './session-engine.ts';
import { DIRTY, EMITTED, SnapshotBuilder, type TakenWindowSnapshot, type WindowKind, decodeSnapshot } from './window-snapshot.ts';
import type { Origin, SideOutput } from '../state/operator-scope.ts';

/** One emission of a window. */
export interface WindowResult<K, A> {
  key: K;
  /** Inclusive window start, epoch ms (sessions: first event time). */
  start: number;
  /** Exclusive window end, epoch ms (sessions: last event time + gap). */
  end: number;
  value: A;
  /** Events folded into the window so far: grows with every emission of the window, usable as a row version. */
  count: number;
  /** True for the last emission of the window (its state is dropped after it). */
  final: boolean;
}

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

export type { TakenWindowSnapshot, WindowKind, WindowSnapshot, WindowStateSnapshot } from './window-snapshot.ts';

/** How events map to windows: fixed (tumbling/hopping) or per-key sessions. */
export type WindowAssigner =
  | { readonly kind: 'tumbling' | 'hopping'; readonly sizeMs: number; readonly slideMs: number }
  | { readonly kind: 'session'; readonly gapMs: number };

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
function parseWindowOptions<T, K extends string | number, S, A>(kind: WindowKind, options: WindowOptions<T, K, S, A>): ResolvedWindowOptions<T, K, S, A> {
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

/** Build a window operator; `tumbling`, `hopping` and `session` are thin wrappers around this. */
export function windowOperator<T, K extends string | number, S, A>(
  assigner: WindowAssigner,
  options: WindowOptions<T, K, S, A>,
): OperatorFunction<T, WindowResult<K, A>> {
  const opts = parseWindowOptions(assigner.kind, options);
  return (source) =>
    new Observable<WindowResult<K, A>>((subscriber) => {
      const scope = currentScope();
      const side = resolveSideOutput(assigner.kind, opts.sideOutput, scope);
      const engine: EventTimeEngine<T, K, S, A> =
        assigner.kind === 'session' ? new SessionEngine(assigner.gapMs, opts, subscriber, side) : new WindowEngine(assigner, opts, subscriber, side);
      if (scope) {
        const { id, restored } = scope.register(assigner.kind, opts.id, {
          snapshot: () => engine.snapshot(),
          ...(opts.flushEarly ? { flush: () => engine.flush() } : {}),
          stats: () => engine.stats(),
        });
        engine.stage = id;
        if (restored !== undefined) engine.restore(restored);
      }
      if (opts.earlyFiring) {
        const { everyMs, scheduler } = opts.earlyFiring;
        // One timer per subscription; rescheduling the same action with the same delay reuses the interval.
        subscriber.add(
          scheduler.schedule(function (this: SchedulerAction<undefined>) {
            engine.flush();
            this.schedule(undefined, everyMs);
          }, everyMs),
        );
      }
      return source.subscribe({
        next: (event) => engine.next(event),
        error: (err: unknown) => subscriber.error(err),
        complete: () => engine.complete(),
      });
    });
}

interface KeyState<K, S> {
  readonly key: K;
  /** First-seen order among keys with live windows; ties between equal window ends are broken by it. */
  readonly rank: number;
  /** Live windows of this key. */
  size: number;
  /**
   * Windows by start / slide: window starts are multiples of the slide, so the key is a small
   * integer, which V8 hashes without boxing (an epoch-ms start does not fit one).
   */
  readonly byStart: Map<number, Win<K, S>>;
}

interface Win<K, S> {
  readonly ks: KeyState<K, S>;
  readonly start: number;
  readonly end: number;
  acc: S;
  count: number;
  dirty: boolean;
  emitted: boolean;
}

/** Heap order: end, then key first-seen rank, then start. */
function before<K, S>(a: Win<K, S>, b: Win<K, S>): boolean {
  if (a.end !== b.end) return a.end < b.end;
  if (a.ks.rank !== b.ks.rank) return a.ks.rank < b.ks.rank;
  return a.start < b.start;
}

/** Window order for firing and flushing: end, then key first-seen rank, then start. */
function compare<K, S>(a: Win<K, S>, b: Win<K, S>): number {
  return a.end - b.end || a.ks.rank - b.ks.rank || a.start - b.start;
}

/** A binary min-heap of windows (fixed windows never move: no re-keying or removal but the top). */
class WindowHeap<K, S> {
  readonly items: Array<Win<K, S>> = [];

  get size(): number {
    return this.items.length;
  }

  peek(): Win<K, S> | undefined {
    return this.items[0];
  }

  push(w: Win<K, S>): void {
    const items = this.items;
    let i = items.length;
    items.push(w);
    while (i > 0) {
      const parentIndex = (i - 1) >> 1;
      const parent = items[parentIndex]!;
      if (!before(w, parent)) break;
      items[i] = parent;
      i = parentIndex;
    }
    items[i] = w;
  }

  pop(): Win<K, S> | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    // Sift `last` down from the root.
    const n = items.length;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let child = l;
      if (r < n && before(items[r]!, items[l]!)) child = r;
      const c = items[child]!;
      if (!before(c, last)) break;
      items[i] = c;
      i = child;
    }
    items[i] = last;
    return top;
  }
}

/** Per-subscription state and logic of a fixed-window operator (tumbling, hopping). */
class WindowEngine<T, K extends string | number, S, A> extends EventTimeEngine<T, K, S, A> {
  private readonly keys = new Map<K, KeyState<K, S>>();
  /** The key state `keyState` returned last, while it is in `keys`. */
  private lastKey: KeyState<K, S> | undefined;
  private nextRank = 0;
  private readonly open = new WindowHeap<K, S>();
  private readonly late = new WindowHeap<K, S>();
  private readonly size: number;
  private readonly slide: number;

  constructor(
    private readonly assigner: { readonly kind: 'tumbling' | 'hopping'; readonly sizeMs: number; readonly slideMs: number },
    options: ResolvedWindowOptions<T, K, S, A>,
    subscriber: Subscriber<WindowResult<K, A>>,
    side: (output: SideOutput, origin?: Origin) => void,
  ) {
    super(assigner.kind, options, subscriber, side);
    this.size = assigner.sizeMs;
    this.slide = assigner.slideMs;
  }

  /** Emit every window changed since its last emission (final: false), in window order. */
  flush(): void {
    if (this.subscriber.closed) return;
    const changed: Array<Win<K, S>> = [];
    for (const w of this.open.items) if (w.dirty) changed.push(w);
    for (const w of this.late.items) if (w.dirty) changed.push(w);
    if (changed.length === 0) return;
    changed.sort(compare);
    try {
      for (const w of changed) {
        if (this.subscriber.closed) return;
        if (w.dirty) this.emit(w, false);
      }
    } catch (err) {
      this.subscriber.error(err);
    }
  }

  snapshot(): TakenWindowSnapshot {
    const snapshot = new SnapshotBuilder(this.keys.size, this.windowsOpen, this.agg);
    for (const ks of this.keys.values()) {
      for (const w of ks.byStart.values()) snapshot.window(w.start, w.end, w.count, (w.dirty ? DIRTY : 0) | (w.emitted ? EMITTED : 0), w.acc);
      snapshot.key(ks.key);
    }
    return snapshot.build(this.assigner.kind, this.maxTime, this.watermark);
  }

  restore(json: unknown): void {
    const snapshot = decodeSnapshot(this.assigner.kind, json, this.agg);
    this.maxTime = snapshot.maxTime ?? -Infinity;
    this.watermark = Math.max(snapshot.watermark ?? -Infinity, this.maxTime - this.outOfOrder);
    snapshot.forEachWindow((key, start, end, acc, count, flags) => {
      const w = this.createWindow(this.keyState(key as K), start, end, acc);
      w.count = count;
      w.dirty = (flags & DIRTY) !== 0;
      w.emitted = (flags & EMITTED) !== 0;
    });
  }

  // --- assignment -------------------------------------------------------------------------------

  protected assign(event: T, t: number, key: K): void {
    const { size, slide, lateness, watermark } = this;
    const last = Math.floor(t / slide) * slide; // the latest window start <= t
    let first = last;
    while (first - slide + size > t) first -= slide; // the earliest window still containing t
    let ks: KeyState<K, S> | undefined;
    let added = false;
    for (let start = first; start <= last; start += slide) {
      const end = start + size;
      if (end + lateness <= watermark) continue; // purged
      ks ??= this.keyState(key);
      const w = ks.byStart.get(start / slide) ?? this.createWindow(ks, start, end, this.agg.init());
      this.addTo(w, event);
      added = true;
      // Late within allowed lateness: the window already fired, so re-emit it now.
      if (end <= watermark) this.emit(w, false);
    }
    if (!added) this.reportLate(event, t);
  }

  private addTo(w: Win<K, S>, event: T): void {
    w.acc = this.agg.add(w.acc, event);
    w.count++;
    w.dirty = true;
  }

  // --- window lifecycle -------------------------------------------------------------------------

  private keyState(key: K): KeyState<K, S> {
    // Unkeyed windows (and runs of one key) look the same key up on every event.
    const last = this.lastKey;
    if (last !== undefined && last.key === key) return last;
    let ks = this.keys.get(key);
    if (ks === undefined) {
      ks = { key, rank: this.nextRank++, size: 0, byStart: new Map() };
      this.keys.set(key, ks);
    }
    this.lastKey = ks;
    return ks;
  }

  /** Create a window, register it with its key and put it in the heap matching the watermark. */
  private createWindow(ks: KeyState<K, S>, start: number, end: number, acc: S): Win<K, S> {
    const w: Win<K, S> = { ks, start, end, acc, count: 0, dirty: false, emitted: false };
    ks.byStart.set(start / this.slide, w);
    ks.size++;
    this.windowsOpen++;
    (end > this.watermark ? this.open : this.late).push(w);
    return w;
  }

  /** Forget a window that is no longer in any heap. */
  private dropWindow(w: Win<K, S>): void {
    const ks = w.ks;
    ks.byStart.delete(w.start / this.slide);
    this.windowsOpen--;
    if (--ks.size === 0) {
      this.keys.delete(ks.key);
      if (this.lastKey === ks) this.lastKey = undefined;
    }
  }

  protected advance(watermark: number): void {
    if (!(watermark > this.watermark)) return;
    this.watermark = watermark;
    const { open, late, lateness, subscriber } = this;
    // Windows waiting for lateness to pass all end at or before the previous watermark, i.e. before any
    // window in `open`: purging them first keeps emissions in window-end order.
    for (let w = late.peek(); w !== undefined && w.end + lateness <= watermark; w = late.peek()) {
      if (subscriber.closed) return;
      late.pop();
      this.purge(w);
    }
    for (let w = open.peek(); w !== undefined && w.end <= watermark; w = open.peek()) {
      if (subscriber.closed) return;
      open.pop();
      if (w.end + lateness <= watermark) {
        this.purge(w);
      } else {
        late.push(w);
        if (w.dirty) this.emit(w, false);
      }
    }
  }

  /** Drop a window popped from its heap and emit its final result. */
  private purge(w: Win<K, S>): void {
    this.dropWindow(w);
    this.emit(w, true);
  }

  private emit(w: Win<K, S>, final: boolean): void {
    w.dirty = false;
    w.emitted = true;
    this.fired++;
    this.subscriber.next({ key: w.ks.key, start: w.start, end: w.end, value: this.agg.result(w.acc), count: w.count, final });
  }
}
