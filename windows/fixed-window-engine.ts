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
 */
import type { Subscriber } from 'rxjs';
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

  constructor(
    private readonly assigner: FixedWindowAssigner,
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
