/**
 * Per-subscription state and logic of a `session` operator, over the typed-array store of
 * `session-store.ts`. Semantics, emission order and checkpoint format are those of the fixed
 * windows' engine in `fixed-window-engine.ts` (see there), with sessions instead of fixed windows:
 * - an event at t covers [t, t + gap); it extends the key's session it overlaps, or opens one,
 *   and an event that bridges several sessions of its key merges them (earliest first);
 * - an event before the end of its key's latest purged session is late (`closedUntil`), until the
 *   watermark passes that end + gap + lateness, after which such an event is late on its own;
 * - a session still open that grows keeps its place in the open heap, queued at an end it has
 *   since passed, and is requeued at its end when it surfaces: sifting it on every event was a
 *   heap walk over every open session per event.
 */
import type { Subscriber } from 'rxjs';
import { KeyArena } from '../state/key-arena.ts';
import type { Origin, SideOutput } from '../state/operator-scope.ts';
import { TimeColumnWriter } from '../state/time-column.ts';
import { EventTimeEngine } from './event-time-engine.ts';
import { IN_LATE, IN_NO_HEAP, IN_OPEN, KeySlots, NONE, RankOrder, SessionHeap, SessionSlots } from './session-store.ts';
import type { ResolvedWindowOptions } from './window-options.ts';
import { DIRTY, decodeSnapshot, EMITTED, SnapshotBuilder, type TakenWindowSnapshot } from './window-snapshot.ts';
import type { WindowResult } from './window-types.ts';

/** A new session's state: the aggregator's `init` (any value, `undefined` included, may be a restored state). */
const FRESH: unique symbol = Symbol('fresh');

export class SessionEngine<T, K extends string | number, S, A> extends EventTimeEngine<T, K, S, A> {
  /** Key value ↔ key slot. */
  private readonly arena = new KeyArena<K>();
  private readonly keys = new KeySlots();
  /** Key slots in first-seen order (a key that returns after its sessions were purged moves to the end). */
  private readonly ranked = new RankOrder();
  /** The aggregator's states as numbers in `sessions.states`, when it has them; else `sessions.acc`. */
  private readonly numbers = this.agg.numbers;
  private readonly width = this.numbers?.width ?? 0;
  private readonly sessions = new SessionSlots<S>(this.width);
  private readonly open: SessionHeap;
  private readonly late: SessionHeap;
  /** Purged sessions' key slots (with the slot's generation) and ends, in purge order, for `closedUntil` to expire. */
  private closedKeys: number[] = [];
  private closedGenerations: number[] = [];
  private closedEnds: number[] = [];
  private closedHead = 0;
  private nextRank = 0;
  private readonly gap: number;

  constructor(
    gapMs: number,
    options: ResolvedWindowOptions<T, K, S, A>,
    subscriber: Subscriber<WindowResult<K, A>>,
    side: (output: SideOutput, origin?: Origin) => void,
  ) {
    super('session', options, subscriber, side);
    this.gap = gapMs;
    this.open = new SessionHeap(IN_OPEN, this.sessions as SessionSlots<unknown>, this.keys);
    this.late = new SessionHeap(IN_LATE, this.sessions as SessionSlots<unknown>, this.keys);
  }

  /** Emit every session changed since its last emission (final: false), in session order. */
  flush(): void {
    if (this.subscriber.closed) return;
    const { flags } = this.sessions;
    const changed: number[] = [];
    for (const heap of [this.open, this.late]) {
      for (let i = 0; i < heap.size; i++) {
        const s = heap.items[i]!;
        if (flags[s]! & DIRTY) changed.push(s);
      }
    }
    if (changed.length === 0) return;
    const { end, start, key } = this.sessions;
    const rank = this.keys.rank;
    changed.sort((a, b) => end[a]! - end[b]! || rank[key[a]!]! - rank[key[b]!]! || start[a]! - start[b]!);
    try {
      for (const s of changed) {
        if (this.subscriber.closed) return;
        if (this.sessions.flags[s]! & DIRTY) this.emit(s, false);
      }
    } catch (err) {
      this.subscriber.error(err);
    }
  }

  snapshot(): TakenWindowSnapshot {
    const { sessions, keys, arena, ranked } = this;
    // Keys with sessions, in rank order (a key kept for `closedUntil` only is in `closedKeys`), in one walk.
    const { numbers, width } = this;
    const snapshot = new SnapshotBuilder(arena.size, this.windowsOpen, this.maxTime, this.agg, numbers);
    const keyColumns = arena.columns(arena.size);
    for (let j = 0; j < ranked.length; j++) {
      const slot = ranked.entry(j);
      if (slot === NONE || keys.first[slot] === NONE) continue;
      for (let s = keys.first[slot]!; s !== NONE; s = sessions.next[s]!) {
        if (numbers) snapshot.windowAt(sessions.start[s]!, sessions.end[s]!, sessions.count[s]!, sessions.flags[s]!, sessions.states, s * width);
        else snapshot.window(sessions.start[s]!, sessions.end[s]!, sessions.count[s]!, sessions.flags[s]!, sessions.acc[s] as S);
      }
      snapshot.endKey();
      keyColumns.add(slot);
    }
    const closedKeys = arena.columns(this.closedEnds.length - this.closedHead);
    const closedEnds = new TimeColumnWriter(this.closedEnds.length - this.closedHead, this.maxTime);
    let closed = 0;
    for (let j = this.closedHead; j < this.closedEnds.length; j++) {
      const slot = this.closedKeys[j]!;
      const end = this.closedEnds[j]!;
      if (keys.generation[slot] === this.closedGenerations[j] && keys.closedUntil[slot] === end) {
        closedKeys.add(slot);
        closedEnds.set(closed++, end);
      }
    }
    return {
      ...snapshot.build('session', this.maxTime, this.watermark, keyColumns.done()),
      closedKeys: closedKeys.done(),
      closedEnds: closedEnds.done(closed),
      closedEndsFrom: closedEnds.base,
    };
  }

  restore(json: unknown): void {
    const snapshot = decodeSnapshot('session', json, this.agg);
    this.maxTime = snapshot.maxTime ?? -Infinity;
    this.watermark = Math.max(snapshot.watermark ?? -Infinity, this.maxTime - this.outOfOrder);
    snapshot.forEachWindow((key, start, end, acc, count, flags) => {
      const s = this.createSession(this.keySlot(key as K), start, end, acc);
      this.sessions.count[s] = count;
      this.sessions.flags[s] = flags & (DIRTY | EMITTED);
    });
    snapshot.forEachClosed((key, end) => this.closeSession(this.keySlot(key as K), end));
  }

  // --- assignment -------------------------------------------------------------------------------

  protected assign(event: T, t: number, key: K): void {
    const { gap, lateness, watermark } = this;
    const end = t + gap;
    const k = this.arena.find(key);
    // Before the end of this key's latest purged session: it belongs to a session already final.
    if (k !== NONE && t < this.keys.closedUntil[k]!) {
      this.reportLate(event, t);
      return;
    }
    // The event's own session [t, t + gap) is complete (plus lateness): late, even when an open
    // session of its key would absorb it; otherwise a straggler could drag that session's start
    // (and the row key downstream) back by any amount. Same rule as for fixed windows.
    if (end + lateness <= watermark) {
      this.reportLate(event, t);
      return;
    }
    // Sessions of this key overlapping [t, t + gap): usually none or one.
    let target = NONE;
    let others: number[] | undefined;
    if (k !== NONE) {
      const { start: starts, end: ends, next } = this.sessions;
      for (let s = this.keys.first[k]!; s !== NONE; s = next[s]!) {
        if (starts[s]! < end && t < ends[s]!) {
          if (target === NONE) target = s;
          else {
            others ??= [target];
            others.push(s);
          }
        }
      }
    }
    if (target === NONE) {
      const slot = k === NONE ? this.newKey(key) : this.keys.first[k] === NONE ? this.revive(k) : k;
      const s = this.createSession(slot, t, end);
      this.addTo(s, event);
      if (end <= watermark) this.emit(s, false);
      return;
    }
    const sessions = this.sessions;
    if (others) {
      // The event bridges several sessions: merge them, earliest first, deterministically.
      others.sort((a, b) => sessions.start[a]! - sessions.start[b]!);
      target = others[0]!;
      for (let i = 1; i < others.length; i++) this.absorb(target, others[i]!);
    }
    if (t < sessions.start[target]!) sessions.start[target] = t;
    if (end > sessions.end[target]!) sessions.end[target] = end;
    this.addTo(target, event);
    this.reposition(target);
    if (sessions.end[target]! <= watermark) this.emit(target, false);
  }

  /** Merge session `other` into `target` and drop `other` (without emitting it). */
  private absorb(target: number, other: number): void {
    const sessions = this.sessions;
    if (this.numbers) this.numbers.merge(sessions.states, target * this.width, other * this.width);
    else sessions.acc[target] = this.agg.merge(sessions.acc[target] as S, sessions.acc[other] as S);
    sessions.count[target] = sessions.count[target]! + sessions.count[other]!;
    if (sessions.start[other]! < sessions.start[target]!) sessions.start[target] = sessions.start[other]!;
    if (sessions.end[other]! > sessions.end[target]!) sessions.end[target] = sessions.end[other]!;
    sessions.flags[target] = sessions.flags[target]! | (sessions.flags[other]! & EMITTED);
    this.heapOf(other)?.remove(other);
    this.dropSession(other);
  }

  /**
   * After a session's end changed: move it to the heap matching the watermark, or re-key it in
   * place. A session still open keeps its place in `open` (see the module comment).
   */
  private reposition(s: number): void {
    const wanted = this.sessions.end[s]! > this.watermark ? IN_OPEN : IN_LATE;
    if (this.sessions.heap[s] === wanted) {
      if (wanted === IN_LATE) this.late.update(s);
    } else {
      this.heapOf(s)?.remove(s);
      (wanted === IN_OPEN ? this.open : this.late).push(s);
    }
  }

  private heapOf(s: number): SessionHeap | undefined {
    const heap = this.sessions.heap[s];
    return heap === IN_OPEN ? this.open : heap === IN_LATE ? this.late : undefined;
  }

  private addTo(s: number, event: T): void {
    const sessions = this.sessions;
    if (this.numbers) this.numbers.add(sessions.states, s * this.width, event);
    else sessions.acc[s] = this.agg.add(sessions.acc[s] as S, event);
    sessions.count[s] = sessions.count[s]! + 1;
    sessions.flags[s] = sessions.flags[s]! | DIRTY;
  }

  // --- key and session lifecycle ----------------------------------------------------------------

  /** The key's slot, a new one ranked last if the key is not held. */
  private keySlot(key: K): number {
    const k = this.arena.find(key);
    return k === NONE ? this.newKey(key) : k;
  }

  private newKey(key: K): number {
    const keys = this.keys;
    const k = keys.alloc();
    this.arena.insert(key, k);
    keys.closedUntil[k] = -Infinity;
    keys.first[k] = NONE;
    this.rank(k);
    return k;
  }

  /**
   * A key kept for `closedUntil` only opens a session again: it ranks (and is listed in snapshots)
   * as a key seen for the first time, so runs restored from a checkpoint break ties between equal
   * ends the same way.
   */
  private revive(k: number): number {
    this.rank(k);
    return k;
  }

  /** Rank the key last. */
  private rank(k: number): void {
    this.keys.rank[k] = this.nextRank++;
    this.ranked.append(k);
  }

  private forget(k: number): void {
    const keys = this.keys;
    this.arena.remove(k);
    this.ranked.remove(k);
    keys.generation[k] = keys.generation[k]! + 1;
    keys.release(k);
  }

  /**
   * Create a session with state `acc` (restoring) or a fresh one, add it to its key's list (last)
   * and to the heap matching the watermark.
   */
  private createSession(k: number, start: number, end: number, acc: S | typeof FRESH = FRESH): number {
    const sessions = this.sessions;
    const s = sessions.alloc();
    // `alloc` may have grown the arrays: read them from `sessions` from here on.
    sessions.start[s] = start;
    sessions.end[s] = end;
    sessions.count[s] = 0;
    sessions.flags[s] = 0;
    sessions.heap[s] = IN_NO_HEAP;
    sessions.key[s] = k;
    sessions.next[s] = NONE;
    if (this.numbers) {
      if (acc === FRESH) this.numbers.init(sessions.states, s * this.width);
      else this.numbers.store(sessions.states, s * this.width, acc);
    } else {
      sessions.acc[s] = acc === FRESH ? this.agg.init() : acc;
    }
    const keys = this.keys;
    let last = keys.first[k]!;
    if (last === NONE) keys.first[k] = s;
    else {
      while (sessions.next[last] !== NONE) last = sessions.next[last]!;
      sessions.next[last] = s;
    }
    this.windowsOpen++;
    (end > this.watermark ? this.open : this.late).push(s);
    return s;
  }

  /** Forget a session that is no longer in any heap. */
  private dropSession(s: number): void {
    const sessions = this.sessions;
    const keys = this.keys;
    const k = sessions.key[s]!;
    if (keys.first[k] === s) keys.first[k] = sessions.next[s]!;
    else {
      let previous = keys.first[k]!;
      while (sessions.next[previous] !== s) previous = sessions.next[previous]!;
      sessions.next[previous] = sessions.next[s]!;
    }
    if (!this.numbers) sessions.acc[s] = undefined;
    sessions.release(s);
    this.windowsOpen--;
    if (keys.first[k] === NONE && keys.closedUntil[k] === -Infinity) this.forget(k);
  }

  protected advance(watermark: number): void {
    if (!(watermark > this.watermark)) return;
    this.watermark = watermark;
    const { open, late, lateness, subscriber } = this;
    // Sessions waiting for lateness to pass all end at or before the previous watermark, i.e.
    // before any session in `open`: purging them first keeps emissions in end order.
    this.expireClosed();
    for (let s = late.peek(); s !== NONE && this.sessions.end[s]! + lateness <= watermark; s = late.peek()) {
      if (subscriber.closed) return;
      late.pop();
      this.purge(s);
    }
    for (let s = open.peek(); s !== NONE && this.sessions.due[s]! <= watermark; s = open.peek()) {
      if (subscriber.closed) return;
      open.pop();
      const end = this.sessions.end[s]!;
      if (this.sessions.due[s] !== end) {
        // A session that grew since it was queued: requeue it at its end, so sessions still fire in end order.
        open.push(s);
        continue;
      }
      if (end + lateness <= watermark) {
        this.purge(s);
      } else {
        late.push(s);
        if (this.sessions.flags[s]! & DIRTY) this.emit(s, false);
      }
    }
  }

  /** Drop a session popped from its heap and emit its final result. */
  private purge(s: number): void {
    const sessions = this.sessions;
    const k = sessions.key[s]!;
    const key = this.arena.value(k);
    const start = sessions.start[s]!;
    const end = sessions.end[s]!;
    const count = sessions.count[s]!;
    // Read before the slot is freed (a number state's slot is reused as it is).
    const value = this.result(s);
    // Closed before it is dropped: its key then stays held for `closedUntil`.
    if (this.watermark < Infinity) this.closeSession(k, end);
    this.dropSession(s);
    this.fired++;
    this.subscriber.next({ key, start, end, value, count, final: true });
  }

  private closeSession(k: number, end: number): void {
    this.keys.closedUntil[k] = end;
    this.closedKeys.push(k);
    this.closedGenerations.push(this.keys.generation[k]!);
    this.closedEnds.push(end);
  }

  /** Forget purged-session ends the watermark has made irrelevant (they expire in purge order). */
  private expireClosed(): void {
    const horizon = this.watermark - this.gap - this.lateness; // end + gap + lateness <= watermark
    const keys = this.keys;
    const ends = this.closedEnds;
    let head = this.closedHead;
    while (head < ends.length && ends[head]! <= horizon) {
      const k = this.closedKeys[head]!;
      // Not if a later purge of the key moved it on, or the slot holds another key by now.
      if (keys.generation[k] === this.closedGenerations[head] && keys.closedUntil[k] === ends[head]) {
        keys.closedUntil[k] = -Infinity;
        if (keys.first[k] === NONE) this.forget(k);
      }
      head++;
    }
    if (head === ends.length) {
      this.closedKeys = [];
      this.closedGenerations = [];
      this.closedEnds = [];
      head = 0;
    } else if (head >= 1024 && head * 2 >= ends.length) {
      this.closedKeys = this.closedKeys.slice(head);
      this.closedGenerations = this.closedGenerations.slice(head);
      this.closedEnds = ends.slice(head);
      head = 0;
    }
    this.closedHead = head;
  }

  private emit(s: number, final: boolean): void {
    const sessions = this.sessions;
    sessions.flags[s] = (sessions.flags[s]! & ~DIRTY) | EMITTED;
    this.fired++;
    const key = this.arena.value(sessions.key[s]!);
    this.subscriber.next({ key, start: sessions.start[s]!, end: sessions.end[s]!, value: this.result(s), count: sessions.count[s]!, final });
  }

  private result(s: number): A {
    return this.numbers ? this.numbers.result(this.sessions.states, s * this.width) : this.agg.result(this.sessions.acc[s] as S);
  }
}
