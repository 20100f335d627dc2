/**
 * The engine of the fixed windows (`tumbling`, `hopping`); sessions have their own, over typed
 * arrays: `session-engine.ts`.
 *
 * Per subscription it keeps, for each key, the windows still alive, and two min-heaps of
 * windows ordered by (end, key first-seen rank, start) (`window-heap.ts`):
 * - `open`: windows whose end is after the watermark (not fired yet),
 * - `late`: windows fired on time but kept for allowed lateness (end <= watermark < end + lateness).
 * A watermark advance pops `late` (purge, final) and then `open` (fire, or purge when lateness is
 * already exceeded), which emits in window-end order without scanning. There are no per-event timers
 * or allocations besides new windows and emitted results.
 *
 * Hopping windows whose aggregator has panes (aggregator.ts, `PaneAggregation`) fold each event
 * once, into its key's panes, not into each of the size/slide windows holding it; their windows
 * keep only bounds, counts and flags, and read their result off the panes when they emit.
 */
import type { Subscriber } from 'rxjs';
import type { PaneAggregation, PaneState } from '../aggregators/aggregator.ts';
import type { Origin, SideOutput } from '../state/operator-scope.ts';
import { EventTimeEngine } from './event-time-engine.ts';
import { compareWindows, type KeyState, type Win, WindowHeap } from './window-heap.ts';
import type { ResolvedWindowOptions } from './window-options.ts';
import { DIRTY, decodeSnapshot, EMITTED, SnapshotBuilder, type TakenWindowSnapshot } from './window-snapshot.ts';
import type { WindowResult } from './window-types.ts';

/** How events map to fixed windows: windows of `sizeMs` starting every `slideMs` (tumbling: slideMs = sizeMs). */
export interface FixedWindowAssigner {
  readonly kind: 'tumbling' | 'hopping';
  readonly sizeMs: number;
  readonly slideMs: number;
}

/** Per-subscription state and logic of a fixed-window operator (tumbling, hopping). */
export class FixedWindowEngine<T, K extends string | number, S, A> extends EventTimeEngine<T, K, S, A> {
  private readonly keys = new Map<K, KeyState<K, S>>();
  /** The key state `keyState` returned last, while it is in `keys`. */
  private lastKey: KeyState<K, S> | undefined;
  private nextRank = 0;
  private readonly open = new WindowHeap<K, S>();
  private readonly late = new WindowHeap<K, S>();
  private readonly size: number;
  private readonly slide: number;
  /** Windows of this many panes keep their states per pane, when set (see the module comment). */
  private readonly span: number;
  /** Set when keys keep their states per pane (each new key's `panes`). */
  private readonly paneAggregation: PaneAggregation<T, A> | undefined;

  constructor(
    private readonly assigner: FixedWindowAssigner,
    options: ResolvedWindowOptions<T, K, S, A>,
    subscriber: Subscriber<WindowResult<K, A>>,
    side: (output: SideOutput, origin?: Origin) => void,
  ) {
    super(assigner.kind, options, subscriber, side);
    this.size = assigner.sizeMs;
    this.slide = assigner.slideMs;
    this.span = this.size / this.slide;
    // How many panes before its key's latest an event may still land in an open window.
    const horizon = Math.ceil((this.size + this.lateness + this.outOfOrder) / this.slide) + 1;
    const panes = this.agg.panes;
    this.paneAggregation = assigner.kind === 'hopping' && Number.isInteger(this.span) && this.span > 1 && panes?.fits(this.span, horizon) ? panes : undefined;
  }

  /** Emit every window changed since its last emission (final: false), in window order. */
  flush(): void {
    if (this.subscriber.closed) return;
    const changed: Array<Win<K, S>> = [];
    for (const w of this.open.items) if (w.dirty) changed.push(w);
    for (const w of this.late.items) if (w.dirty) changed.push(w);
    if (changed.length === 0) return;
    changed.sort(compareWindows);
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
    let paned = 0;
    for (const ks of this.keys.values()) if (ks.panes !== undefined) paned++;
    // Keys restored from a build without panes keep a state per window until they have none left:
    // while some do, the windows' states go as JSON, null for those of keys with panes.
    const states = paned === 0 ? 'auto' : paned === this.keys.size ? 'none' : 'json';
    const snapshot = new SnapshotBuilder(this.keys.size, this.windowsOpen, this.maxTime, this.agg, undefined, states);
    const panes: unknown[] = [];
    for (const ks of this.keys.values()) {
      for (const w of ks.byStart.values()) {
        const flags = (w.dirty ? DIRTY : 0) | (w.emitted ? EMITTED : 0);
        if (ks.panes === undefined) snapshot.window(w.start, w.end, w.count, flags, w.acc);
        else snapshot.stateless(w.start, w.end, w.count, flags);
      }
      snapshot.key(ks.key);
      panes.push(ks.panes === undefined ? null : (ks.panes as PaneState<T, A>).toJSON());
    }
    const built = snapshot.build(this.assigner.kind, this.maxTime, this.watermark);
    return paned > 0 ? { ...built, panes } : built;
  }

  restore(json: unknown): void {
    const snapshot = decodeSnapshot(this.assigner.kind, json, this.agg);
    this.maxTime = snapshot.maxTime ?? -Infinity;
    this.watermark = Math.max(snapshot.watermark ?? -Infinity, this.maxTime - this.outOfOrder);
    const { panes } = snapshot;
    const fail = (why: string): never => {
      throw new Error(`${this.stage}: cannot restore snapshot: ${why}`);
    };
    snapshot.forEachWindow((key, start, end, acc, count, flags, k) => {
      const ks = this.keyState(key as K);
      if (ks.size === 0) {
        // The key's first window: its panes, or none (a key of a build without panes keeps a state per window until it has none left).
        const json = panes?.[k] ?? null;
        if (json !== null && this.paneAggregation === undefined) fail("its windows kept their states per pane, and this window's aggregator or sizes do not");
        ks.panes = json === null ? undefined : this.paneAggregation!.restore(json, this.span);
      }
      if (ks.panes === undefined && acc === undefined) fail(`a window of key ${JSON.stringify(key)} has no state`);
      const w = this.createWindow(ks, start, end, ks.panes === undefined ? acc : (undefined as S));
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
    // Skip the windows already purged (they end first).
    while (first <= last && first + size + lateness <= watermark) first += slide;
    if (first > last) {
      this.reportLate(event, t);
      return;
    }
    const ks = this.keyState(key);
    const panes = ks.panes as PaneState<T, A> | undefined;
    panes?.add(last / slide, first / slide, event);
    for (let start = first; start <= last; start += slide) {
      const end = start + size;
      const w = ks.byStart.get(start / slide) ?? this.createWindow(ks, start, end, panes ? (undefined as S) : this.agg.init());
      if (!panes) w.acc = this.agg.add(w.acc, event);
      w.count++;
      w.dirty = true;
      // Late within allowed lateness: the window already fired, so re-emit it now.
      if (end <= watermark) this.emit(w, false);
    }
  }

  // --- window lifecycle -------------------------------------------------------------------------

  private keyState(key: K): KeyState<K, S> {
    // Unkeyed windows (and runs of one key) look the same key up on every event.
    const last = this.lastKey;
    if (last !== undefined && last.key === key) return last;
    let ks = this.keys.get(key);
    if (ks === undefined) {
      ks = { key, rank: this.nextRank++, size: 0, byStart: new Map(), panes: this.paneAggregation?.create(this.span) };
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
    // A key's windows close in start order: none before the next one is left.
    if (ks.panes !== undefined) (ks.panes as PaneState<T, A>).forget(w.start / this.slide + 1);
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
    // The result first: dropping the window drops what only it needed from its key's panes.
    const value = this.result(w);
    this.dropWindow(w);
    this.emit(w, true, value);
  }

  private emit(w: Win<K, S>, final: boolean, value = this.result(w)): void {
    w.dirty = false;
    w.emitted = true;
    this.fired++;
    this.subscriber.next({ key: w.ks.key, start: w.start, end: w.end, value, count: w.count, final });
  }

  private result(w: Win<K, S>): A {
    return w.ks.panes === undefined ? this.agg.result(w.acc) : (w.ks.panes as PaneState<T, A>).result(w.start / this.slide);
  }
}
