import { describe, expect, it } from 'vitest';
import { dedupeTimes, fp } from '../test/support/state-values.ts';
import { KeyQueue } from './key-queue.ts';
import { TypedColumn } from './typed-columns.ts';

/** A snapshot's columns as plain values. */
function contents(queue: KeyQueue): { maxTime: number | null; keys: Array<[number, number]>; times: number[] } {
  const { maxTime, hi, lo, times, timesFrom } = queue.snapshot();
  const his = Array.from(new Uint32Array(hi.bytes().slice().buffer));
  const los = Array.from(new Uint32Array(lo.bytes().slice().buffer));
  return { maxTime, keys: his.map((h, i) => [h, los[i]!]), times: dedupeTimes({ hi: hi.bytes(), times: times.bytes(), timesFrom }) };
}

describe('KeyQueue', () => {
  it('lists live keys in insertion order, leaving out the dead slot of a key forgotten and admitted again', () => {
    const queue = new KeyQueue(10, 100);
    expect(queue.admit('x', 100)).toBe(true);
    // Behind a newer key: the trim from the front leaves it.
    expect(queue.admit('late', 80)).toBe(true);
    expect(queue.admit('y', 101)).toBe(true);
    // Found in the index but expired: forgotten (its slot dead) and admitted again at the tail.
    expect(queue.admit('late', 101)).toBe(true);
    expect(queue.admit('x', 105)).toBe(false);
    expect(contents(queue)).toEqual({ maxTime: 105, keys: [fp('x'), fp('y'), fp('late')], times: [100, 101, 101] });
    expect(queue.stats()).toEqual({ in: 5, out: 4, duplicates: 1, evicted: 0, expired: 1, keys: 3 });
  });

  it('keeps its keys, in order, across wrapping around its ring and growing', () => {
    const queue = new KeyQueue(1_000, 10_000);
    // 3,000 keys sliding by, ~1,000 held at a time (the ring of 1,024 wraps), then 2,000 more at one
    // time (it grows, its keys straddling the wrap).
    for (let i = 0; i < 3_000; i++) queue.admit(`w${i}`, i);
    for (let i = 0; i < 2_000; i++) queue.admit(`g${i}`, 3_000);
    const expected = [...Array.from({ length: 1_000 }, (_, i) => `w${2_000 + i}`), ...Array.from({ length: 2_000 }, (_, i) => `g${i}`)];
    expect(contents(queue).keys).toEqual(expected.map(fp));
    for (const key of expected) expect(queue.admit(key, 3_000)).toBe(false);
  });

  it('restores from its snapshot to decide exactly as the queue it was taken from', () => {
    const original = new KeyQueue(50, 40);
    const inputs = Array.from({ length: 600 }, (_, i) => ({ key: `k${(i * 7) % 61}`, time: i - ((i * 13) % 9) }));
    for (const { key, time } of inputs.slice(0, 300)) original.admit(key, time);
    const { maxTime, hi, lo, times, timesFrom } = original.snapshot();
    const restored = new KeyQueue(50, 40);
    restored.restore({ maxTime, hi: hi.bytes(), lo: lo.bytes(), times: times.bytes(), timesFrom });
    expect(contents(restored)).toEqual(contents(original));
    for (const { key, time } of inputs.slice(300)) expect(restored.admit(key, time)).toBe(original.admit(key, time));
  });

  it('writes times as uint32 distances from a base that stays put as time goes on', () => {
    const now = 1_796_621_399_645;
    const queue = new KeyQueue(600_000, 1_000);
    for (let i = 0; i < 100; i++) queue.admit(`k${i}`, now + i * 1_000);
    const first = queue.snapshot();
    expect(first.times.bytes().length).toBe(4 * 100);
    expect(first.timesFrom! % 2 ** 31).toBe(0);
    expect(now - first.timesFrom!).toBeGreaterThanOrEqual(2 ** 31);
    expect(contents(queue).times).toEqual(Array.from({ length: 100 }, (_, i) => now + i * 1_000));
    for (let i = 100; i < 200; i++) queue.admit(`k${i}`, now + i * 1_000);
    expect(queue.snapshot().timesFrom).toBe(first.timesFrom);
  });

  it('writes times from 0 when one would not come back exactly from the base, and restores each as it was', () => {
    for (const odd of [0.1, -0, 2 ** -40]) {
      const queue = new KeyQueue(1e13, 1_000);
      queue.admit('now', 1_796_621_399_645.25);
      queue.admit('odd', odd);
      const { maxTime, hi, lo, times, timesFrom } = queue.snapshot();
      expect(timesFrom).toBe(0);
      const restored = new KeyQueue(1e13, 1_000);
      restored.restore({ maxTime, hi: hi.bytes(), lo: lo.bytes(), times: times.bytes(), timesFrom });
      const back = contents(restored).times;
      expect(back).toEqual([1_796_621_399_645.25, odd]);
      expect(Object.is(back[1], odd)).toBe(true);
    }
  });

  it('refuses a snapshot whose columns do not add up', () => {
    const bytes = (array: Uint32Array | Float64Array) => new TypedColumn(array).bytes();
    const valid = { maxTime: 1, hi: bytes(Uint32Array.of(1)), lo: bytes(Uint32Array.of(2)), times: bytes(Float64Array.of(1)) };
    const restore = (snapshot: unknown) => () => new KeyQueue(10, 10).restore(snapshot);
    expect(restore(valid)).not.toThrow();
    expect(restore({ ...valid, timesFrom: 0, times: bytes(Uint32Array.of(1)) })).not.toThrow();
    expect(restore({ ...valid, timesFrom: Number.NaN })).toThrow('dedupe: cannot restore snapshot: timesFrom must be a finite number');
    expect(restore(null)).toThrow('dedupe: cannot restore snapshot: not an object');
    expect(restore({ ...valid, maxTime: '1' })).toThrow(/maxTime must be a number or null/);
    expect(restore({ ...valid, times: undefined })).toThrow(/expected hi\/lo\/times/);
    expect(restore({ ...valid, lo: bytes(Uint32Array.of(2, 3)) })).toThrow(/arrays of different lengths/);
    expect(restore({ ...valid, times: valid.times.subarray(0, 7) })).toThrow('dedupe: cannot restore snapshot: truncated array');
  });
});
