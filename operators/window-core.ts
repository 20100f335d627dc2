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
import type { Aggregator } from './aggregators.ts';
import { type EncodedColumn, type Taken, TypedColumn, decodeColumn, float64s, isEncodedColumn, uint32s, uint8s } from './typed-columns.ts';
import { currentScope, resolveSideOutput } from './scope.ts';
import { SessionEngine } from './session-engine.ts';
import type { Origin, SideOutput } from './scope.ts';

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

/** A window as stored in checkpoints of the earlier, one-object-per-window format (still restored). */
export interface WindowStateSnapshot {
  readonly start: number;
  readonly end: number;
  /** The aggregator state, via `aggregate.toJSON`. */
  readonly acc: unknown;
  readonly count: number;
  /** Changed since its last emission. */
  readonly dirty: boolean;
  /** Emitted at least once. */
  readonly emitted: boolean;
}

/**
 * The checkpointed state of a window operator, by column: one entry per key in `keys` and
 * `windowCounts` (keys in first-seen order), one entry per window, key by key, in the others.
 * Numeric columns are typed arrays (see typed-columns.ts), and the aggregator states are
 * columns too when the aggregator has them (`count`, `sum`, `min`, `max` and `combine`s of them):
 * a session operator holds a window per active user, and taking the snapshot is part of a
 * synchronous, consistent cut, where copying numbers costs far less than an object per window.
 */
export interface WindowSnapshot {
  readonly kind: WindowKind;
  readonly maxTime: number | null;
  readonly watermark: number | null;
  readonly keys: ReadonlyArray<string | number>;
  /** How many of the windows below belong to each key: uint32s. */
  readonly windowCounts: EncodedColumn;
  /** float64s. */
  readonly starts: EncodedColumn;
  readonly ends: EncodedColumn;
  /** Events folded into each window: float64s. */
  readonly counts: EncodedColumn;
  /** Bit 1: changed since its last emission; bit 2: emitted at least once. uint8s. */
  readonly flags: EncodedColumn;
  /** Aggregator states, from the aggregator's `columns` writer, when it has columns... */
  readonly accColumns?: unknown;
  /** ...else one per window, via `aggregate.toJSON`. */
  readonly accs?: readonly unknown[];
  /** Sessions only: keys and ends (float64s) of recently purged sessions, in purge order (see `closedUntil` in session-engine.ts). */
  readonly closedKeys?: ReadonlyArray<string | number>;
  readonly closedEnds?: EncodedColumn;
}

export type TakenWindowSnapshot = Taken<WindowSnapshot, 'windowCounts' | 'starts' | 'ends' | 'counts' | 'flags' | 'closedEnds'>;

/** The earlier format: an object per key and per window. */
interface LegacyWindowSnapshot {
  readonly kind: WindowKind;
  readonly maxTime: number | null;
  readonly watermark: number | null;
  readonly keys: ReadonlyArray<{ readonly key: string | number; readonly windows: readonly WindowStateSnapshot[] }>;
  readonly closed?: ReadonlyArray<readonly [key: string | number, end: number]>;
}

/** Any format's columns, decoded, with the aggregator states restored. */
interface RestoredColumns<S> {
  readonly keys: ReadonlyArray<string | number>;
  readonly windowCounts: ArrayLike<number>;
  readonly starts: ArrayLike<number>;
  readonly ends: ArrayLike<number>;
  readonly counts: ArrayLike<number>;
  readonly flags: ArrayLike<number>;
  readonly states: readonly S[];
  readonly closedKeys: ReadonlyArray<string | number>;
  readonly closedEnds: ArrayLike<number>;
}

export const DIRTY = 1;
export const EMITTED = 2;

export type WindowKind = 'tumbling' | 'hopping' | 'session';

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
function parseWindowOptions<T, K extends string | number, S, A>(
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
      const engine: WindowEngineLike<T> =
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

/** What `windowOperator` needs of an engine (fixed windows or sessions). */
export interface WindowEngineLike<T> {
  stage: string;
  next(event: T): void;
  complete(): void;
  flush(): void;
  stats(): Readonly<Record<string, number>>;
  snapshot(): TakenWindowSnapshot;
  restore(json: unknown): void;
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
class WindowEngine<T, K extends string | number, S, A> implements WindowEngineLike<T> {
  stage: string;
  private readonly keys = new Map<K, KeyState<K, S>>();
  /** The key state `keyState` returned last, while it is in `keys`. */
  private lastKey: KeyState<K, S> | undefined;
  private nextRank = 0;
  private maxTime = -Infinity;
  private watermark = -Infinity;
  private readonly open = new WindowHeap<K, S>();
  private readonly late = new WindowHeap<K, S>();
  private readonly timeOf: (event: T) => number;
  private readonly keyOf: (event: T) => K;
  private readonly agg: Aggregator<T, S, A>;
  private readonly outOfOrder: number;
  private readonly lateness: number;
  private readonly size: number;
  private readonly slide: number;
  private seen = 0;
  private lateCount = 0;
  private invalid = 0;
  private windowsOpen = 0;
  private fired = 0;

  constructor(
    private readonly assigner: { readonly kind: 'tumbling' | 'hopping'; readonly sizeMs: number; readonly slideMs: number },
    options: ResolvedWindowOptions<T, K, S, A>,
    private readonly subscriber: Subscriber<WindowResult<K, A>>,
    private readonly side: (output: SideOutput, origin?: Origin) => void,
  ) {
    this.stage = options.id ?? assigner.kind;
    this.timeOf = options.time;
    this.keyOf = options.key;
    this.agg = options.aggregate;
    this.outOfOrder = options.maxOutOfOrderMs;
    this.lateness = options.allowedLatenessMs;
    this.size = assigner.sizeMs;
    this.slide = assigner.slideMs;
  }

  next(event: T): void {
    const subscriber = this.subscriber;
    try {
      this.seen++;
      const t = this.timeOf(event);
      if (!Number.isFinite(t)) {
        this.invalid++;
        this.side({ kind: 'dead-letter', stage: this.stage, reason: `invalid event time: ${t}`, payload: stringify(event) });
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

  snapshot(): TakenWindowSnapshot {
    // Sized up front and filled by index: this runs inside a synchronous cut.
    const windowCounts = new Uint32Array(this.keys.size);
    const keys = new Array<string | number>(this.keys.size);
    const total = this.windowsOpen;
    const starts = new Float64Array(total);
    const ends = new Float64Array(total);
    const counts = new Float64Array(total);
    const flags = new Uint8Array(total);
    // The aggregator's states into its columns if it has them, else their JSON, one per window.
    const writer = this.agg.columns?.writer(total);
    const accs = writer ? undefined : new Array<unknown>(total);
    let i = 0;
    let k = 0;
    const put = (w: Win<K, S>): void => {
      starts[i] = w.start;
      ends[i] = w.end;
      counts[i] = w.count;
      flags[i] = (w.dirty ? DIRTY : 0) | (w.emitted ? EMITTED : 0);
      if (writer) writer.set(i, w.acc);
      else accs![i] = this.agg.toJSON(w.acc);
      i++;
    };
    for (const ks of this.keys.values()) {
      const before = i;
      ks.byStart.forEach(put);
      keys[k] = ks.key;
      windowCounts[k++] = i - before;
    }
    keys.length = k; // i === total below, unless the count is off (never expected)
    if (accs) accs.length = i;
    return {
      kind: this.assigner.kind,
      maxTime: finiteOrNull(this.maxTime),
      watermark: finiteOrNull(this.watermark),
      keys,
      windowCounts: new TypedColumn(windowCounts.subarray(0, k)),
      starts: new TypedColumn(starts.subarray(0, i)),
      ends: new TypedColumn(ends.subarray(0, i)),
      counts: new TypedColumn(counts.subarray(0, i)),
      flags: new TypedColumn(flags.subarray(0, i)),
      ...(writer ? { accColumns: writer.done(i) } : { accs: accs! }),
    };
  }

  restore(json: unknown): void {
    const snapshot = parseSnapshot(this.assigner.kind, json, this.agg);
    this.maxTime = snapshot.maxTime ?? -Infinity;
    this.watermark = Math.max(snapshot.watermark ?? -Infinity, this.maxTime - this.outOfOrder);
    const add = (ks: KeyState<K, S>, start: number, end: number, acc: S, count: number, dirty: boolean, emitted: boolean): void => {
      const w = this.createWindow(ks, start, end, acc);
      w.count = count;
      w.dirty = dirty;
      w.emitted = emitted;
    };
    if ('columns' in snapshot) {
      const c = snapshot.columns;
      let i = 0;
      for (let k = 0; k < c.keys.length; k++) {
        const n = c.windowCounts[k]!;
        if (n === 0) continue;
        const ks = this.keyState(c.keys[k] as K);
        for (const end = i + n; i < end; i++) {
          const f = c.flags[i]!;
          add(ks, c.starts[i]!, c.ends[i]!, c.states[i]!, c.counts[i]!, (f & DIRTY) !== 0, (f & EMITTED) !== 0);
        }
      }
      return;
    }
    for (const { key, windows } of snapshot.keys) {
      if (windows.length === 0) continue;
      const ks = this.keyState(key as K);
      for (const w of windows) add(ks, w.start, w.end, this.agg.fromJSON(w.acc), w.count, w.dirty, w.emitted);
    }
  }

  // --- assignment -------------------------------------------------------------------------------

  private assign(event: T, t: number, key: K): void {
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

  private reportLate(event: T, t: number): void {
    this.lateCount++;
    this.side({ kind: 'late', stage: this.stage, event, eventTime: t, watermark: this.watermark });
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

  private advance(watermark: number): void {
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

export function finiteOrNull(n: number): number | null {
  return Number.isFinite(n) ? n : null;
}

export function stringify(event: unknown): string {
  try {
    return JSON.stringify(event) ?? String(event);
  } catch {
    return String(event);
  }
}

/**
 * Validate a snapshot of any format and decode its columns (restoring the aggregator states), or
 * return the legacy format as it is.
 */
export function parseSnapshot<S>(
  kind: WindowKind,
  json: unknown,
  agg: Aggregator<never, S, unknown>,
): { readonly maxTime: number | null; readonly watermark: number | null } & ({ readonly columns: RestoredColumns<S> } | LegacyWindowSnapshot) {
  const fail = (why: string): never => {
    throw new Error(`${kind}: cannot restore snapshot: ${why}`);
  };
  if (typeof json !== 'object' || json === null) return fail('not an object');
  const s = json as Record<string, unknown>;
  if (s['kind'] !== kind) return fail(`it was taken from a ${String(s['kind'])} operator`);
  const nullableNumber = (v: unknown) => v === null || typeof v === 'number';
  if (!nullableNumber(s['maxTime']) || !nullableNumber(s['watermark'])) return fail('maxTime/watermark must be numbers or null');
  const times = { maxTime: s['maxTime'] as number | null, watermark: s['watermark'] as number | null };
  const keysOf = (name: string): Array<string | number> => {
    const keys = s[name];
    if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string' || typeof k === 'number')) return fail(`${name} must be an array of strings and numbers`);
    return keys as Array<string | number>;
  };
  const closed = s['closed'];
  if (closed !== undefined) {
    const valid =
      Array.isArray(closed) &&
      closed.every((c: unknown) => Array.isArray(c) && (typeof c[0] === 'string' || typeof c[0] === 'number') && typeof c[1] === 'number');
    if (!valid) return fail('closed must be [key, end] pairs');
  }
  if (!Array.isArray(s['keys'])) return fail('keys must be an array');
  if ('windowCounts' in s) {
    // Columns: typed arrays (bytes, or base64 text), or, in the format before, arrays of numbers (with
    // `closed` as [key, end] pairs).
    const typed = isEncodedColumn(s['starts']);
    const column = <A extends ArrayLike<number>>(name: string, make: (buffer: ArrayBuffer, length: number) => A, bytes: number): ArrayLike<number> => {
      const value = s[name];
      if (!typed) {
        if (!Array.isArray(value) || !value.every((v) => typeof v === 'number')) return fail(`${name} must be an array of numbers`);
        return value as number[];
      }
      if (!isEncodedColumn(value)) return fail(`${name} must be a typed column`);
      return decodeColumn(value, make as never, bytes, `${kind}: cannot restore snapshot: ${name} is truncated`) as unknown as A;
    };
    const keys = keysOf('keys');
    const windowCounts = column('windowCounts', uint32s, 4);
    if (windowCounts.length !== keys.length) return fail('windowCounts must have one entry per key');
    let windows = 0;
    for (let k = 0; k < windowCounts.length; k++) windows += windowCounts[k]!;
    const starts = column('starts', float64s, 8);
    const ends = column('ends', float64s, 8);
    const counts = column('counts', float64s, 8);
    const flags = column('flags', uint8s, 1);
    for (const [name, c] of [['starts', starts], ['ends', ends], ['counts', counts], ['flags', flags]] as const) {
      if (c.length !== windows) return fail(`${name} must have one entry per window`);
    }
    let states: S[];
    if (typed && 'accColumns' in s) {
      if (agg.columns === undefined) return fail('its aggregator states are columns, and this aggregator has none');
      states = agg.columns.fromColumns(s['accColumns'], windows);
    } else {
      const accs = s['accs'];
      if (!Array.isArray(accs) || accs.length !== windows) return fail('accs must have one entry per window');
      states = accs.map((acc: unknown) => agg.fromJSON(acc));
    }
    if (!typed) {
      const pairs = (closed ?? []) as ReadonlyArray<readonly [string | number, number]>;
      const closedColumns = { closedKeys: pairs.map((p) => p[0]), closedEnds: pairs.map((p) => p[1]) };
      return { ...times, columns: { keys, windowCounts, starts, ends, counts, flags, states, ...closedColumns } };
    }
    const closedKeys = s['closedKeys'] === undefined ? [] : keysOf('closedKeys');
    const closedEnds = s['closedEnds'] === undefined ? new Float64Array(0) : column('closedEnds', float64s, 8);
    if (closedEnds.length !== closedKeys.length) return fail('closedEnds must have one entry per closed key');
    return { ...times, columns: { keys, windowCounts, starts, ends, counts, flags, states, closedKeys, closedEnds } };
  }
  for (const entry of s['keys'] as unknown[]) {
    if (typeof entry !== 'object' || entry === null) return fail('malformed key entry');
    const { key, windows } = entry as Record<string, unknown>;
    if (typeof key !== 'string' && typeof key !== 'number') return fail('keys must be strings or numbers');
    if (!Array.isArray(windows)) return fail('windows must be an array');
    for (const w of windows as unknown[]) {
      const ws = w as Record<string, unknown> | null;
      if (
        typeof ws !== 'object' ||
        ws === null ||
        typeof ws['start'] !== 'number' ||
        typeof ws['end'] !== 'number' ||
        typeof ws['count'] !== 'number' ||
        typeof ws['dirty'] !== 'boolean' ||
        typeof ws['emitted'] !== 'boolean' ||
        !('acc' in ws)
      ) {
        return fail('malformed window');
      }
    }
  }
  return json as LegacyWindowSnapshot;
}
