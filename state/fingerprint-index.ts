/**
 * A hash index from 64-bit fingerprints (see fingerprint.ts) to the slots of a table that keeps
 * each slot's fingerprint itself: dedupe's ring of keys, a session operator's key slots.
 *
 * Why: such a table already holds the fingerprints, so the index needs to hold only the slot, 4
 * bytes per index slot instead of a copy of the fingerprint beside it (12 bytes): at the
 * clickstream's ~590k deduplicated keys, 4.2 MB instead of 12.6.
 *
 * An entry is the slot + 1 (0 marks an empty entry) in its low bits and, above them, the
 * fingerprint's high bits as a tag: a probe compares the tag and reads the table's fingerprint
 * only when it matches, so a lookup stays within the index but for the key it finds (another key's
 * tag matches once in 4,096 at the ring's 672k slots: 20 bits of slot, 12 of tag). A removal reads
 * the fingerprints of the entries it shifts back. Open addressing, linear probing, backward-shift
 * deletion (no tombstones); at most 3/4 full.
 */
const INITIAL_CAPACITY = 1024;

export class FingerprintIndex {
  private entries: Uint32Array;
  private mask: number;
  private count = 0;
  /** The table's fingerprints, by slot: high half at 2 * slot, low half at 2 * slot + 1. */
  private fingerprints: Uint32Array;
  /** Bits of an entry for the slot + 1; the rest hold the tag. */
  private slotMask: number;

  /** `fingerprints`: the table's, by slot (see `rebind`). */
  constructor(fingerprints: Uint32Array) {
    this.entries = new Uint32Array(INITIAL_CAPACITY);
    this.mask = INITIAL_CAPACITY - 1;
    this.fingerprints = fingerprints;
    this.slotMask = slotMaskFor(fingerprints.length / 2);
  }

  get size(): number {
    return this.count;
  }

  /**
   * The table's fingerprints are now `fingerprints`, every slot where it was (a larger copy): the
   * index keeps its entries, re-tagged if the slots need more bits.
   */
  rebind(fingerprints: Uint32Array): void {
    this.fingerprints = fingerprints;
    const slotMask = slotMaskFor(fingerprints.length / 2);
    if (slotMask !== this.slotMask) this.rebuild(this.entries.length, slotMask);
  }

  /** Empty the index, and index `fingerprints` from now on (a table whose slots all moved). */
  reset(fingerprints: Uint32Array): void {
    this.entries.fill(0);
    this.count = 0;
    this.fingerprints = fingerprints;
    this.slotMask = slotMaskFor(fingerprints.length / 2);
  }

  /** The slot holding this fingerprint, or -1. */
  get(hi: number, lo: number): number {
    const at = this.find(hi >>> 0, lo >>> 0);
    return at < 0 ? -1 : (this.entries[at]! & this.slotMask) - 1;
  }

  /**
   * Index `slot` under its fingerprint, which the table holds already (written there first). A
   * fingerprint indexed before now points at `slot` (its old slot's fingerprint must be unchanged).
   */
  set(hi: number, lo: number, slot: number): void {
    hi >>>= 0;
    lo >>>= 0;
    const entry = entryOf(hi, slot, this.slotMask);
    const at = this.find(hi, lo);
    if (at >= 0) {
      this.entries[at] = entry;
      return;
    }
    this.place(lo ^ hi, entry);
    if (++this.count > this.entries.length * 0.75) this.rebuild(this.entries.length * 2, this.slotMask);
  }

  delete(hi: number, lo: number): boolean {
    let hole = this.find(hi >>> 0, lo >>> 0);
    if (hole < 0) return false;
    const { entries, mask, fingerprints, slotMask } = this;
    // Shift later entries of the probe run back into the hole, so lookups never stop early.
    let j = hole;
    for (;;) {
      j = (j + 1) & mask;
      const entry = entries[j]!;
      if (entry === 0) break;
      const slot = (entry & slotMask) - 1;
      const home = (fingerprints[2 * slot]! ^ fingerprints[2 * slot + 1]!) & mask;
      // Move j into the hole unless its home lies cyclically in (hole, j].
      if (hole <= j ? home <= hole || home > j : home <= hole && home > j) {
        entries[hole] = entry;
        hole = j;
      }
    }
    entries[hole] = 0;
    this.count--;
    return true;
  }

  /** Where this fingerprint's entry is, or -1. */
  private find(hi: number, lo: number): number {
    const { entries, mask, fingerprints, slotMask } = this;
    const tag = hi & ~slotMask;
    let i = (lo ^ hi) & mask;
    for (;;) {
      const entry = entries[i]!;
      if (entry === 0) return -1;
      if ((entry & ~slotMask) === tag) {
        const slot = (entry & slotMask) - 1;
        if (fingerprints[2 * slot] === hi && fingerprints[2 * slot + 1] === lo) return i;
      }
      i = (i + 1) & mask;
    }
  }

  /** Put `entry` in the first empty entry from `hash`'s home on. */
  private place(hash: number, entry: number): void {
    const { entries, mask } = this;
    let i = hash & mask;
    while (entries[i] !== 0) i = (i + 1) & mask;
    entries[i] = entry;
  }

  private rebuild(capacity: number, slotMask: number): void {
    const old = this.entries;
    const { fingerprints } = this;
    const oldMask = this.slotMask;
    this.entries = new Uint32Array(capacity);
    this.mask = capacity - 1;
    this.slotMask = slotMask;
    for (let i = 0; i < old.length; i++) {
      const entry = old[i]!;
      if (entry === 0) continue;
      const slot = (entry & oldMask) - 1;
      const hi = fingerprints[2 * slot]!;
      this.place(fingerprints[2 * slot + 1]! ^ hi, entryOf(hi, slot, slotMask));
    }
  }
}

/** The entry for `slot`: slot + 1 in the bits of `slotMask`, the high half's other bits above as its tag. */
function entryOf(hi: number, slot: number, slotMask: number): number {
  return ((hi & ~slotMask) | (slot + 1)) >>> 0;
}

/** The low bits that hold slot + 1 for a table of `slots` slots (at least 16: a tag of at most 16 bits). */
function slotMaskFor(slots: number): number {
  let bits = 16;
  while (2 ** bits - 1 < slots) bits++;
  if (bits > 31) throw new Error(`FingerprintIndex: a table of ${slots} slots is more than it can index`);
  return 2 ** bits - 1;
}
