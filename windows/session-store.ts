/**
 * The state of a session operator in typed arrays: a slot per session and a slot per key, and the
 * two heaps of sessions (by slot number) that `session-engine.ts` fires from.
 *
 * Why: a session operator holds a session per active user (hundreds of thousands). As objects,
 * a session cost ~450 bytes of JS heap (its key's record, the window record, a boxed number per
 * time field, an array of the key's sessions), all of it traced by every full collection and
 * walked one object at a time by a checkpoint's snapshot. Here the numbers of a session are ~50
 * bytes in flat arrays the GC never looks into, and the keys themselves are bytes in a
 * `KeyArena`; so are the aggregator states when they are numbers (`count`, `sum`, `min`, `max`
 * and `combine`s of them), else a JS value per session is all that is left on the heap.
 */

/** No slot. */
export const NONE = -1;

/** Which heap holds a session. */
export const IN_NO_HEAP = 0;
export const IN_OPEN = 1;
export const IN_LATE = 2;

const INITIAL_SLOTS = 1024;

/** A slot allocator over parallel typed arrays: grows them by doubling and reuses freed slots. */
abstract class Slots {
  capacity = INITIAL_SLOTS;
  private used = 0;
  private free: number[] = [];

  alloc(): number {
    const slot = this.free.pop();
    if (slot !== undefined) return slot;
    if (this.used === this.capacity) {
      this.capacity *= 2;
      this.grow(this.capacity);
    }
    return this.used++;
  }

  release(slot: number): void {
    this.free.push(slot);
  }

  protected abstract grow(capacity: number): void;
}

function grown<A extends Float64Array | Int32Array | Uint32Array | Uint8Array>(array: A, capacity: number): A {
  const next = new (array.constructor as new (n: number) => A)(capacity);
  next.set(array);
  return next;
}

/** Sessions: [start, end) in event time, the end it is queued at, events folded, flags, heap position, key and the key's next session. */
export class SessionSlots<S> extends Slots {
  start = new Float64Array(INITIAL_SLOTS);
  end = new Float64Array(INITIAL_SLOTS);
  /** The end the session is ordered by in its heap (see `SessionEngine.advance`). */
  due = new Float64Array(INITIAL_SLOTS);
  count = new Float64Array(INITIAL_SLOTS);
  flags = new Uint8Array(INITIAL_SLOTS);
  heap = new Uint8Array(INITIAL_SLOTS);
  position = new Int32Array(INITIAL_SLOTS);
  key = new Int32Array(INITIAL_SLOTS);
  /** The next session of the same key, or NONE: a key's sessions are a list (usually of one). */
  next = new Int32Array(INITIAL_SLOTS);
  /** Aggregator states as JS values, when the aggregator has no number states... */
  acc: Array<S | undefined> = [];
  /** ...else `width` numbers per session, session s's at `s * width` (see `NumberStates`). */
  states: Float64Array;

  constructor(readonly width = 0) {
    super();
    this.states = new Float64Array(INITIAL_SLOTS * width);
  }

  protected grow(capacity: number): void {
    this.states = grown(this.states, capacity * this.width);
    this.start = grown(this.start, capacity);
    this.end = grown(this.end, capacity);
    this.due = grown(this.due, capacity);
    this.count = grown(this.count, capacity);
    this.flags = grown(this.flags, capacity);
    this.heap = grown(this.heap, capacity);
    this.position = grown(this.position, capacity);
    this.key = grown(this.key, capacity);
    this.next = grown(this.next, capacity);
  }
}

/** Keys with live sessions or a recently purged one (see `closedUntil`); their values are in a `KeyArena` under the same slot. */
export class KeySlots extends Slots {
  /** First-seen order among keys; ties between equal session ends are broken by it. */
  rank = new Float64Array(INITIAL_SLOTS);
  /** The end of the key's latest purged session, or -Infinity (see `SessionEngine`). */
  closedUntil = new Float64Array(INITIAL_SLOTS);
  /** The key's first session, or NONE when it has none (kept for `closedUntil` only). */
  first = new Int32Array(INITIAL_SLOTS);
  /** Bumped when the slot is freed, so a queued reference to the key it held can tell. */
  generation = new Uint32Array(INITIAL_SLOTS);

  protected grow(capacity: number): void {
    this.rank = grown(this.rank, capacity);
    this.closedUntil = grown(this.closedUntil, capacity);
    this.first = grown(this.first, capacity);
    this.generation = grown(this.generation, capacity);
  }
}

/**
 * Key slots in rank order (first-seen, see `KeySlots.rank`), for snapshots: a slot is appended when
 * it is ranked, and its earlier entry blanked, so a snapshot walks the list without looking at
 * each entry's slot to tell whether it is current; blanks are squeezed out when the list fills up.
 */
export class RankOrder {
  private entries = new Int32Array(INITIAL_SLOTS);
  private size = 0;
  private blanks = 0;
  /** By slot: the index of its entry, or NONE. */
  private at = new Int32Array(INITIAL_SLOTS).fill(NONE);

  /** Entries, blanks included. */
  get length(): number {
    return this.size;
  }

  /** The slot of entry `j`, or NONE for a blank. */
  entry(j: number): number {
    return this.entries[j]!;
  }

  /** Rank `slot` last. */
  append(slot: number): void {
    if (slot >= this.at.length) {
      let capacity = this.at.length;
      while (capacity <= slot) capacity *= 2;
      const at = grown(this.at, capacity);
      at.fill(NONE, this.at.length);
      this.at = at;
    }
    this.remove(slot);
    if (this.size === this.entries.length) {
      if (this.blanks >= this.size / 2) this.squeeze();
      else this.entries = grown(this.entries, this.entries.length * 2);
    }
    this.entries[this.size] = slot;
    this.at[slot] = this.size++;
  }

  /** Drop `slot` from the order (its key is forgotten). */
  remove(slot: number): void {
    const j = slot < this.at.length ? this.at[slot]! : NONE;
    if (j === NONE) return;
    this.entries[j] = NONE;
    this.at[slot] = NONE;
    this.blanks++;
  }

  private squeeze(): void {
    const { entries, at } = this;
    let n = 0;
    for (let j = 0; j < this.size; j++) {
      const slot = entries[j]!;
      if (slot === NONE) continue;
      entries[n] = slot;
      at[slot] = n++;
    }
    this.size = n;
    this.blanks = 0;
  }
}

/**
 * An indexed binary min-heap of session slots ordered by (due, key rank, start), supporting
 * remove and re-key in O(log n); each session's position is kept in `sessions.position`.
 */
export class SessionHeap {
  items = new Int32Array(INITIAL_SLOTS);
  size = 0;

  constructor(
    private readonly tag: number,
    private readonly sessions: SessionSlots<unknown>,
    private readonly keys: KeySlots,
  ) {}

  peek(): number {
    return this.size === 0 ? NONE : this.items[0]!;
  }

  push(s: number): void {
    const sessions = this.sessions;
    sessions.due[s] = sessions.end[s]!;
    sessions.heap[s] = this.tag;
    if (this.size === this.items.length) this.items = grown(this.items, this.size * 2);
    this.up(this.size++, s);
  }

  pop(): number {
    const top = this.peek();
    if (top !== NONE) this.removeAt(0);
    return top;
  }

  remove(s: number): void {
    if (this.sessions.heap[s] === this.tag) this.removeAt(this.sessions.position[s]!);
  }

  /** Restore heap order after the session's end changed. */
  update(s: number): void {
    const sessions = this.sessions;
    sessions.due[s] = sessions.end[s]!;
    this.up(sessions.position[s]!, s);
    this.down(sessions.position[s]!, s);
  }

  private removeAt(i: number): void {
    const removed = this.items[i]!;
    this.sessions.heap[removed] = IN_NO_HEAP;
    this.sessions.position[removed] = NONE;
    const last = this.items[--this.size]!;
    if (i < this.size) {
      this.up(i, last);
      this.down(this.sessions.position[last]!, last);
    }
  }

  private before(a: number, b: number): boolean {
    const { due, key, start } = this.sessions;
    const da = due[a]!;
    const db = due[b]!;
    if (da !== db) return da < db;
    const rank = this.keys.rank;
    const ra = rank[key[a]!]!;
    const rb = rank[key[b]!]!;
    if (ra !== rb) return ra < rb;
    return start[a]! < start[b]!;
  }

  /** Place `s` at `i` or above it. */
  private up(i: number, s: number): void {
    const items = this.items;
    const position = this.sessions.position;
    while (i > 0) {
      const parentIndex = (i - 1) >> 1;
      const parent = items[parentIndex]!;
      if (!this.before(s, parent)) break;
      items[i] = parent;
      position[parent] = i;
      i = parentIndex;
    }
    items[i] = s;
    position[s] = i;
  }

  /** Place `s` at `i` or below it. */
  private down(i: number, s: number): void {
    const items = this.items;
    const position = this.sessions.position;
    const n = this.size;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let child = l;
      if (r < n && this.before(items[r]!, items[l]!)) child = r;
      const c = items[child]!;
      if (!this.before(c, s)) break;
      items[i] = c;
      position[c] = i;
      i = child;
    }
    items[i] = s;
    position[s] = i;
  }
}
