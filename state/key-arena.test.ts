import { describe, expect, it } from 'vitest';
import { seededRandom } from '../test/support/seeded-random.ts';
import { keyColumns } from '../test/support/state-values.ts';
import { KeyArena, keysFromColumns } from './key-arena.ts';
import { releaseSnapshot, SnapshotBuffers, withSnapshotBuffers } from './snapshot-buffers.ts';

describe('KeyArena', () => {
  it('agrees with a Map under random inserts and removals, across growth and compaction', () => {
    const arena = new KeyArena<string | number>();
    const reference = new Map<string | number, number>();
    const freeSlots: number[] = [];
    let nextSlot = 0;
    const random = seededRandom(5);
    const rand = (n: number): number => random.int(n);
    // Strings of every UTF-8 length, the empty string, and numbers whose text equals a string key.
    const keyOf = (i: number): string | number => (i % 7 === 0 ? i : i % 11 === 0 ? `${i}` : i % 13 === 0 ? `ü-€-😀-${i}` : i === 1 ? '' : `user-${i}`);
    for (let step = 0; step < 60_000; step++) {
      const key = keyOf(rand(5_000));
      const slot = arena.find(key);
      expect(slot).toBe(reference.get(key) ?? -1);
      if (slot === -1) {
        const s = freeSlots.pop() ?? nextSlot++;
        arena.insert(key, s);
        reference.set(key, s);
      } else if (rand(3) > 0) {
        arena.remove(slot);
        expect(arena.find(key)).toBe(-1);
        reference.delete(key);
        freeSlots.push(slot);
      }
      if (step % 1_009 === 0) {
        expect(arena.size).toBe(reference.size);
        for (const [k, s] of reference) expect(arena.value(s)).toBe(k);
      }
    }
    for (const [k, s] of reference) {
      expect(arena.find(k)).toBe(s);
      expect(arena.value(s)).toBe(k);
    }
  });

  it('tells a number from its text', () => {
    const arena = new KeyArena<string | number>();
    arena.insert(7, 0);
    expect(arena.find('7')).toBe(-1);
    arena.insert('7', 1);
    expect([arena.find(7), arena.find('7'), arena.value(0), arena.value(1)]).toEqual([0, 1, 7, '7']);
  });

  it('copies keys out as columns in the order asked, and reads them back', () => {
    const arena = new KeyArena<string | number>();
    const keys = ['b', 'ä', '', 'a-long-key-'.repeat(20), 42, '42'];
    for (const [slot, key] of keys.entries()) arena.insert(key, slot);
    const columns = (slots: number[]) => {
      const writer = arena.columns(slots.length);
      for (const slot of slots) writer.add(slot);
      return JSON.parse(JSON.stringify(writer.done())) as Record<string, unknown>;
    };
    const order = [5, 0, 3, 4, 2, 1];
    expect(keyColumns(columns(order))).toEqual(order.map((slot) => keys[slot]));
    expect(columns([0, 1]).numbers).toBeUndefined();
    expect(keyColumns(columns([]))).toEqual([]);
    // Columns take the bytes of the keys written, not the arena's: 'b' and 'ä' are three, and
    // with their two lengths the snapshot's slab needs 16 (at offsets of 8), not the long key's 220.
    const pool = new SnapshotBuffers();
    const two = () =>
      withSnapshotBuffers(pool, () => {
        const writer = arena.columns(2);
        writer.add(0);
        writer.add(1);
        return writer.done();
      });
    releaseSnapshot(two());
    const taken = two();
    expect(keyColumns(JSON.parse(JSON.stringify(taken)))).toEqual(['b', 'ä']);
    expect(taken.utf8.buffer.byteLength).toBeLessThan(32);
  });

  it('writes correct columns into memory reused from a released snapshot', () => {
    // The number moves between the snapshots, whose columns share one slab (snapshot-buffers.ts).
    const n = 70_000;
    const arena = new KeyArena<string | number>();
    arena.insert(1, 0);
    for (let slot = 1; slot < n; slot++) arena.insert(`k${slot}`, slot);
    const pool = new SnapshotBuffers();
    const take = (order: number[]) =>
      withSnapshotBuffers(pool, () => {
        const writer = arena.columns(order.length);
        for (const slot of order) writer.add(slot);
        return writer.done();
      });
    const forward = [...Array(n).keys()];
    releaseSnapshot(take(forward)); // sizes the slab
    const first = take(forward);
    expect(keyColumns(JSON.parse(JSON.stringify(first)))[0]).toBe(1);
    releaseSnapshot(first);
    const backward = [...forward].reverse();
    const second = take(backward);
    expect(second.utf8.buffer).toBe(first.utf8.buffer);
    const keys = keyColumns(JSON.parse(JSON.stringify(second)));
    expect(keys[0]).toBe(`k${n - 1}`);
    expect(keys[n - 1]).toBe(1);
    expect(keys.filter((k) => typeof k === 'number')).toEqual([1]);
  });

  it('rejects key columns whose lengths do not add up', () => {
    const fail = (why: string): never => {
      throw new Error(why);
    };
    const utf8 = new TextEncoder().encode('abc');
    expect(keysFromColumns(utf8, [1, 2], undefined, fail)).toEqual(['a', 'bc']);
    expect(() => keysFromColumns(utf8, [1, 1], undefined, fail)).toThrow(/do not match/);
    expect(() => keysFromColumns(utf8, [1, 3], undefined, fail)).toThrow(/truncated/);
    expect(() => keysFromColumns(utf8, [1, 2], [0], fail)).toThrow(/one entry per key/);
  });
});
