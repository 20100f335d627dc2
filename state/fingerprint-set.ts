/**
 * A set of 64-bit fingerprints (see `fingerprint`) in one flat typed array, growing from a few slots.
 *
 * Why: `distinct` keeps one set per window, and a 5-minute window of a busy site holds hundreds of
 * thousands of user ids. As a `Set<string>` every entry is a pointer to a string the set keeps
 * alive: the GC traces them all, an insert touches the table and the string, and a checkpoint
 * writes every string. Here an entry is 8 bytes next to each other (one cache line per probe),
 * nothing for the GC to trace, and a snapshot is the entries' bytes.
 */
import { capacityFor } from './fingerprint.ts';
import { uint32Column } from './snapshot-buffers.ts';

const MIN_CAPACITY = 8;

export class FingerprintSet {
  /** Slot i holds hi at 2i and lo at 2i + 1; 0:0 is an empty slot (fingerprints are never 0:0). */
  private slots: Uint32Array;
  private mask: number;
  private count = 0;

  constructor(expected = 0) {
    const capacity = capacityFor(expected, MIN_CAPACITY);
    this.slots = new Uint32Array(capacity * 2);
    this.mask = capacity - 1;
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

  /** Adds every fingerprint of `other`. */
  addAll(other: FingerprintSet): void {
    const s = other.slots;
    for (let i = 0; i < s.length; i += 2) if (s[i] !== 0 || s[i + 1] !== 0) this.add(s[i]!, s[i + 1]!);
  }

  /** The fingerprints as hi, lo pairs, without empty slots. */
  toPairs(): Uint32Array {
    const out = uint32Column(this.count * 2);
    const s = this.slots;
    let j = 0;
    for (let i = 0; i < s.length; i += 2) {
      if (s[i] !== 0 || s[i + 1] !== 0) {
        out[j++] = s[i]!;
        out[j++] = s[i + 1]!;
      }
    }
    return out;
  }

  static fromPairs(pairs: Uint32Array): FingerprintSet {
    const set = new FingerprintSet(pairs.length / 2);
    for (let i = 0; i + 1 < pairs.length; i += 2) set.add(pairs[i]!, pairs[i + 1]!);
    return set;
  }

  private grow(): void {
    const old = this.slots;
    const capacity = (this.mask + 1) * 2;
    this.slots = new Uint32Array(capacity * 2);
    this.mask = capacity - 1;
    this.count = 0;
    for (let i = 0; i < old.length; i += 2) if (old[i] !== 0 || old[i + 1] !== 0) this.add(old[i]!, old[i + 1]!);
  }
}
