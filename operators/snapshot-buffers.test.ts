import { describe, expect, it } from 'vitest';
import { SnapshotBuffers, float64Column, releaseSnapshot, snapshotBuffers } from './snapshot-buffers.ts';
import { TypedColumn } from './typed-columns.ts';

const KB = 1024;

describe('SnapshotBuffers', () => {
  it('hands a given-back buffer to the next request it fits, the smallest that fits, never one over twice the size', () => {
    const pool = new SnapshotBuffers();
    const a = pool.take(100 * KB);
    const b = pool.take(300 * KB);
    expect(a.byteLength).toBeGreaterThanOrEqual(100 * KB);
    pool.give([a, b]);
    expect(pool.take(90 * KB)).toBe(a);
    expect(pool.take(250 * KB)).toBe(b);
    pool.give([a, b]);
    // b is more than twice 120 KB: a new buffer instead.
    const c = pool.take(120 * KB);
    expect(c).not.toBe(a);
    expect(c).not.toBe(b);
  });

  it('takes back only its own buffers, and about one checkpoint of them', () => {
    const pool = new SnapshotBuffers();
    pool.give([new ArrayBuffer(200 * KB)]);
    expect(pool.freeBytes).toBe(0);
    expect(pool.take(10).byteLength).toBe(10); // small ones are left to the allocator
    const first = [pool.take(1000 * KB), pool.take(1000 * KB)];
    pool.give(first);
    // The next checkpoint was smaller: the pool keeps what it gave back, plus at most half again.
    const second = pool.take(300 * KB);
    expect(first).not.toContain(second);
    pool.give([second]);
    expect(pool.freeBytes).toBeLessThanOrEqual(1.5 * second.byteLength);
    expect(pool.freeBytes).toBeGreaterThanOrEqual(second.byteLength);
  });

  it('releases the columns of a snapshot, wherever they are in it', () => {
    const held = snapshotBuffers.freeBytes;
    const column = float64Column(100_000);
    column.fill(7);
    releaseSnapshot({ a: [{ b: new TypedColumn(column.subarray(0, 10)) }], c: 'text', d: null });
    expect(snapshotBuffers.freeBytes).toBe(held + column.buffer.byteLength);
    // The next column of that size reuses the memory, contents and all: callers write what they expose.
    expect(float64Column(100_000).buffer).toBe(column.buffer);
  });
});
