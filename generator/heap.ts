/**
 * A binary min-heap ordered by a numeric key. Ties are broken by insertion order so the generator's
 * output never depends on heap internals (determinism across refactors of this file).
 */
export class MinHeap<T> {
  readonly #items: T[] = [];
  readonly #keys: number[] = [];
  readonly #order: number[] = [];
  #inserted = 0;

  get size(): number {
    return this.#items.length;
  }

  /** Key of the smallest item, or `Infinity` when empty. */
  peekKey(): number {
    return this.#items.length === 0 ? Infinity : (this.#keys[0] as number);
  }

  push(item: T, key: number): void {
    this.#items.push(item);
    this.#keys.push(key);
    this.#order.push(this.#inserted++);
    this.#up(this.#items.length - 1);
  }

  /** Removes and returns the smallest item; `undefined` when empty. */
  pop(): T | undefined {
    const items = this.#items;
    if (items.length === 0) return undefined;
    const top = items[0];
    const lastItem = items.pop() as T;
    const lastKey = this.#keys.pop() as number;
    const lastOrder = this.#order.pop() as number;
    if (items.length > 0) {
      items[0] = lastItem;
      this.#keys[0] = lastKey;
      this.#order[0] = lastOrder;
      this.#down(0);
    }
    return top;
  }

  #less(a: number, b: number): boolean {
    const ka = this.#keys[a] as number;
    const kb = this.#keys[b] as number;
    return ka < kb || (ka === kb && (this.#order[a] as number) < (this.#order[b] as number));
  }

  #swap(a: number, b: number): void {
    const items = this.#items;
    const keys = this.#keys;
    const order = this.#order;
    [items[a], items[b]] = [items[b] as T, items[a] as T];
    [keys[a], keys[b]] = [keys[b] as number, keys[a] as number];
    [order[a], order[b]] = [order[b] as number, order[a] as number];
  }

  #up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(i, parent)) return;
      this.#swap(i, parent);
      i = parent;
    }
  }

  #down(i: number): void {
    const n = this.#items.length;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) return;
      const right = left + 1;
      const child = right < n && this.#less(right, left) ? right : left;
      if (!this.#less(child, i)) return;
      this.#swap(i, child);
      i = child;
    }
  }
}
