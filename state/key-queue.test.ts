import { describe, expect, it } from 'vitest';
import { column, fp } from '../test/support/state-values.ts';
import { KeyQueue } from './key-queue.ts';
import { TypedColumn } from './typed-columns.ts';

/** A snapshot's columns as plain values. */
function contents(queue: KeyQueue): { maxTime: number | null; keys: Array<[number, number]>; times: number[] } {
  const { maxTime, hi, lo, times } = queue.snapshot();
  const his = Array.from(new Uint32Array(hi.bytes().slice().buffer));
  const los = Array.from(new Uint32Array(lo.bytes().slice().buffer));
  return { maxTime, keys: his.map((h, i) => [h, los[i]!]), times: column(times.bytes(), 'float64') };
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
    const { maxTime, hi, lo, times } = original.snapshot();
    const restored = new KeyQueue(50, 40);
    restored.restore({ maxTime, hi: hi.bytes(), lo: lo.bytes(), times: times.bytes() });
    expect(contents(restored)).toEqual(contents(original));
    for (const { key, time } of inputs.slice(300)) expect(restored.admit(key, time)).toBe(original.admit(key, time));
  });

  it('refuses a snapshot whose columns do not add up', () => {
    const bytes = (array: Uint32Array | Float64Array) => new TypedColumn(array).bytes();
    const valid = { maxTime: 1, hi: bytes(Uint32Array.of(1)), lo: bytes(Uint32Array.of(2)), times: bytes(Float64Array.of(1)) };
    const restore = (snapshot: unknown) => () => new KeyQueue(10, 10).restore(snapshot);
    expect(restore(valid)).not.toThrow();
    expect(restore(null)).toThrow('dedupe: cannot restore snapshot: not an object');
    expect(restore({ ...valid, maxTime: '1' })).toThrow(/maxTime must be a number or null/);
    expect(restore({ ...valid, times: undefined })).toThrow(/expected hi\/lo\/times/);
    expect(restore({ ...valid, lo: bytes(Uint32Array.of(2, 3)) })).toThrow(/arrays of different lengths/);
    expect(restore({ ...valid, times: valid.times.subarray(0, 7) })).toThrow('dedupe: cannot restore snapshot: truncated array');
  });
});
