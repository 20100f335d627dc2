/**
 * The fixed windows (tumbling, hopping) of one key, and the binary min-heap their engine fires
 * them from, ordered by (end, key first-seen rank, start).
 */

/** A key's live windows. */
export interface KeyState<K, S> {
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
  /** The key's panes, when its windows keep their states per pane (hopping windows: fixed-window-engine.ts). */
  panes: unknown;
}

/** A fixed window: its key, bounds, aggregator state, and whether it changed since its last emission. */
export interface Win<K, S> {
  readonly ks: KeyState<K, S>;
  readonly start: number;
  readonly end: number;
  /** Unused when the key's states are kept per pane. */
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
export function compareWindows<K, S>(a: Win<K, S>, b: Win<K, S>): number {
  return a.end - b.end || a.ks.rank - b.ks.rank || a.start - b.start;
}

/** A binary min-heap of windows (fixed windows never move: no re-keying or removal but the top). */
export class WindowHeap<K, S> {
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
