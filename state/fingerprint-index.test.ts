import { describe, expect, it } from 'vitest';
import { seededRandom } from '../test/support/seeded-random.ts';
import { fp } from '../test/support/state-values.ts';
import { FingerprintIndex } from './fingerprint-index.ts';

/** A table of slots that keeps each slot's fingerprint, as dedupe's ring and the key arena do. */
class Table {
  fingerprints: Uint32Array;
  readonly index: FingerprintIndex;

  constructor(slots: number) {
    this.fingerprints = new Uint32Array(2 * slots);
    this.index = new FingerprintIndex(this.fingerprints);
  }

  put(slot: number, hi: number, lo: number): void {
    this.fingerprints[2 * slot] = hi;
    this.fingerprints[2 * slot + 1] = lo;
    this.index.set(hi, lo, slot);
  }

  /** Twice the slots, each where it was. */
  grow(): void {
    const larger = new Uint32Array(2 * this.fingerprints.length);
    larger.set(this.fingerprints);
    this.fingerprints = larger;
    this.index.rebind(larger);
  }
}

describe('FingerprintIndex', () => {
  it('agrees with a Map under random inserts, moves and deletes, across its growth and the table growing past 16 bits of slots', () => {
    let table = new Table(1_024);
    const reference = new Map<string, number>();
    const free: number[] = [];
    let nextSlot = 0;
    const random = seededRandom(7);
    const rand = (n: number): number => random.int(n);
    // A small key space makes probe runs collide and wrap, and deletes shift entries back. Slots are
    // not reused until the end, so the table passes 65,535 slots and the tags lose bits.
    for (let step = 0; step < 150_000; step++) {
      const key = `k${rand(5_000)}`;
      const [hi, lo] = fp(key);
      const held = reference.get(key);
      if (rand(3) === 0) {
        expect(table.index.delete(hi, lo)).toBe(held !== undefined);
        if (held !== undefined) free.push(held);
        reference.delete(key);
      } else {
        // A key held already moves to a new slot (dedupe re-admitting an expired key); its old slot keeps its fingerprint.
        const slot = step < 140_000 || free.length === 0 ? nextSlot++ : free.pop()!;
        if (2 * slot >= table.fingerprints.length) table.grow();
        table.put(slot, hi, lo);
        reference.set(key, slot);
      }
      if (step % 997 === 0) expect(table.index.size).toBe(reference.size);
    }
    expect(nextSlot).toBeGreaterThan(65_535);
    for (let i = 0; i < 5_000; i++) {
      const [hi, lo] = fp(`k${i}`);
      expect(table.index.get(hi, lo)).toBe(reference.get(`k${i}`) ?? -1);
    }
    // Reset: the table's slots all moved (dedupe's ring growing).
    table = new Table(8);
    table.put(3, 11, 12);
    const moved = new Uint32Array(32);
    table.index.reset(moved);
    expect([table.index.size, table.index.get(11, 12)]).toEqual([0, -1]);
  });

  it('tells apart fingerprints with the same tag and the same home, and finds runs that wrap around the end', () => {
    const table = new Table(16);
    // Same high half (so the same tag) and the same home entry, the last one (1023): they wrap to entries 0 and 1.
    table.put(0, 5 << 20, (5 << 20) ^ 1023);
    table.put(1, 5 << 20, (5 << 20) ^ 2047);
    table.put(2, 5 << 20, (5 << 20) ^ 3071);
    const get = (): number[] => [1023, 2047, 3071].map((home) => table.index.get(5 << 20, (5 << 20) ^ home));
    expect(get()).toEqual([0, 1, 2]);
    expect(table.index.delete(5 << 20, (5 << 20) ^ 1023)).toBe(true);
    expect(get()).toEqual([-1, 1, 2]);
    expect(table.index.delete(5 << 20, (5 << 20) ^ 1023)).toBe(false);
    expect(table.index.size).toBe(2);
  });
});
