import { describe, expect, it } from 'vitest';
import { SnapshotBuffers, float64Column, releaseSnapshot, snapshotBuffers, uint32Column, withSnapshotBuffers } from './snapshot-buffers.ts';
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

  it('takes back only its own buffers, and holds one checkpoint of them: the last', () => {
    const pool = new SnapshotBuffers();
    pool.give([new ArrayBuffer(200 * KB)]);
    expect(pool.freeBytes).toBe(0);
    expect(pool.take(10).byteLength).toBe(10); // small ones are left to the allocator
    const first = [pool.take(1000 * KB), pool.take(1000 * KB)];
    pool.give(first);
    expect(pool.freeBytes).toBe(first[0]!.byteLength + first[1]!.byteLength);
    // The next checkpoint was smaller: what it gave back replaces what was left over.
    const second = pool.take(300 * KB);
    expect(first).not.toContain(second);
    pool.give([second, second]);
    expect(pool.freeBytes).toBe(second.byteLength);
    expect(pool.take(300 * KB)).toBe(second);
  });

  it('releases the columns of a snapshot, wherever they are in it', () => {
    const column = float64Column(100_000);
    column.fill(7);
    releaseSnapshot({ a: [{ b: new TypedColumn(column.subarray(0, 10)) }], c: 'text', d: null });
    expect(snapshotBuffers.freeBytes).toBe(column.buffer.byteLength);
    // The next column of that size reuses the memory, contents and all: callers write what they expose.
    expect(float64Column(100_000).buffer).toBe(column.buffer);
  });

  it('gives each column back to the pool it was taken from: engines checkpointing side by side keep their own', () => {
    const a = new SnapshotBuffers();
    const b = new SnapshotBuffers();
    const held = snapshotBuffers.freeBytes;
    // Two engines' cuts (the runner's partitions in one process), then both checkpoints saved.
    const first = withSnapshotBuffers(a, () => ({ dedupe: { hi: new TypedColumn(uint32Column(200_000)) } }));
    const second = withSnapshotBuffers(b, () => ({ dedupe: { hi: new TypedColumn(uint32Column(50_000)) } }));
    const firstBuffer = first.dedupe.hi.buffer;
    releaseSnapshot(first);
    releaseSnapshot(second);
    // The second, smaller release did not trim the first engine's memory away.
    expect(a.freeBytes).toBe(firstBuffer.byteLength);
    expect(b.freeBytes).toBeGreaterThanOrEqual(50_000 * 4);
    expect(snapshotBuffers.freeBytes).toBe(held);
    expect(withSnapshotBuffers(a, () => uint32Column(200_000)).buffer).toBe(firstBuffer);
    // Outside withSnapshotBuffers, columns come from the process's pool again.
    expect(uint32Column(200_000).buffer).not.toBe(firstBuffer);
  });
});
