/**
 * A set of 64-bit fingerprints (see `fingerprint`) in one flat typed array, growing from a few slots.
 *
 * Why: `distinct` keeps one set per window, and a 5-minute window of a busy site holds hundreds of
 * thousands of user ids. As a `Set<string>` every entry is a pointer to a string the set keeps
 * alive: the GC traces them all, an insert touches the table and the string, and a checkpoint
 * writes every string. Here an entry is 8 bytes next to each other (one cache line per probe),
 * nothing for the GC to trace, and a snapshot is the entries' bytes.
 *
 * The entries are also kept in the order they were added (`order`, 8 more bytes each), and a
 * snapshot writes them in that order: a set that grew since the last checkpoint then differs from
 * its last snapshot only at the end, which incremental checkpoints do not write again
 * (core/content-chunks.ts). In table order, every insert moved the entries after it.
 */
import { capacityFor } from './fingerprint.ts';
import { uint32Column } from './snapshot-buffers.ts';

const MIN_CAPACITY = 8;

export class FingerprintSet {
  /** Slot i holds hi at 2i and lo at 2i + 1; 0:0 is an empty slot (fingerprints are never 0:0). */
  private slots: Uint32Array;
  private mask: number;
  private count = 0;
  /** The entries in the order they were added: hi at 2i, lo at 2i + 1, for the first `count`. */
  private order: Uint32Array;

  constructor(expected = 0) {
    const capacity = capacityFor(expected, MIN_CAPACITY);
    this.slots = new Uint32Array(capacity * 2);
    this.mask = capacity - 1;
    this.order = new Uint32Array(Math.max(expected, MIN_CAPACITY) * 2);
  }

  get size(): number {
    return this.count;
  }

  /** Adds the fingerprint; false if it was already there. */
  add(hi: number, lo: number): boolean {
    hi >>>= 0;
    lo >>>= 0;
    const slots = this.slots;
    const mask = this.mask;
    // The fingerprint is already well mixed: its low bits are a fine slot number.
    let i = (lo ^ hi) & mask;
    for (;;) {
      const h = slots[2 * i]!;
      const l = slots[2 * i + 1]!;
      if (h === 0 && l === 0) break;
      if (h === hi && l === lo) return false;
      i = (i + 1) & mask;
    }
    slots[2 * i] = hi;
    slots[2 * i + 1] = lo;
    if (2 * this.count === this.order.length) {
      const longer = new Uint32Array(this.order.length * 2);
      longer.set(this.order);
      this.order = longer;
    }
    this.order[2 * this.count] = hi;
    this.order[2 * this.count + 1] = lo;
    if (++this.count > (mask + 1) * 0.75) this.grow();
    return true;
  }

  has(hi: number, lo: number): boolean {
    hi >>>= 0;
    lo >>>= 0;
    const slots = this.slots;
    const mask = this.mask;
    for (let i = (lo ^ hi) & mask; ; i = (i + 1) & mask) {
      const h = slots[2 * i]!;
      const l = slots[2 * i + 1]!;
      if (h === hi && l === lo) return true;
      if (h === 0 && l === 0) return false;
    }
  }

  /** Adds every fingerprint of `other`, in the order `other` got them. */
  addAll(other: FingerprintSet): void {
    const order = other.order;
    for (let i = 0; i < 2 * other.count; i += 2) this.add(order[i]!, order[i + 1]!);
  }

  /** The fingerprints as hi, lo pairs, in the order they were added. */
  toPairs(): Uint32Array {
    const out = uint32Column(this.count * 2);
    out.set(this.order.subarray(0, this.count * 2));
    return out;
  }

  static fromPairs(pairs: Uint32Array): FingerprintSet {
    const set = new FingerprintSet(pairs.length / 2);
    for (let i = 0; i + 1 < pairs.length; i += 2) set.add(pairs[i]!, pairs[i + 1]!);
    return set;
  }

  /** The table is 3/4 full: twice as large, every entry placed again (the order stays). */
  private grow(): void {
    const capacity = (this.mask + 1) * 2;
    const slots = new Uint32Array(capacity * 2);
    const mask = capacity - 1;
    const order = this.order;
    for (let k = 0; k < 2 * this.count; k += 2) {
      const hi = order[k]!;
      const lo = order[k + 1]!;
      let i = (lo ^ hi) & mask;
      while (slots[2 * i] !== 0 || slots[2 * i + 1] !== 0) i = (i + 1) & mask;
      slots[2 * i] = hi;
      slots[2 * i + 1] = lo;
    }
    this.slots = slots;
    this.mask = mask;
  }
}
