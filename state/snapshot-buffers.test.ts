import { describe, expect, it } from 'vitest';
import { float64Column, releaseSnapshot, SnapshotBuffers, uint8Column, uint32Column, withSnapshotBuffers } from './snapshot-buffers.ts';
import { TypedColumn } from './typed-columns.ts';

/** A snapshot of three columns of these lengths, as an engine's cut takes it. */
const snapshotOf = (pool: SnapshotBuffers, n: number) =>
  withSnapshotBuffers(pool, () => ({
    a: new TypedColumn(uint8Column(n + 3)),
    b: [{ c: new TypedColumn(float64Column(n)) }],
    d: new TypedColumn(uint32Column(n)),
    text: 'not a column',
  }));

describe('SnapshotBuffers', () => {
  it('takes a snapshot after the first from one slab, the size of the last, reused once the snapshot is released', () => {
    const pool = new SnapshotBuffers();
    const first = snapshotOf(pool, 1000);
    // The first snapshot's size is not known beforehand: plain arrays.
    expect(new Set([first.a.buffer, first.b[0]!.c.buffer, first.d.buffer]).size).toBe(3);
    releaseSnapshot(first);
    expect(pool.freeBytes).toBe(0);

    const second = snapshotOf(pool, 1000);
    const slab = second.a.buffer;
    expect(second.b[0]!.c.buffer).toBe(slab);
    expect(second.d.buffer).toBe(slab);
    // Columns side by side, each at an offset a Float64Array accepts, with a little room to grow.
    const needed = 1008 + 8000 + 4000;
    expect(slab.byteLength).toBeGreaterThanOrEqual(needed);
    expect(slab.byteLength).toBeLessThanOrEqual(needed * 1.07);
    expect(pool.freeBytes).toBe(0); // lent to the snapshot until it is saved
    releaseSnapshot(second);
    expect(pool.freeBytes).toBe(slab.byteLength);
    expect(snapshotOf(pool, 1010).a.buffer).toBe(slab);
  });

  it('writes what outgrows the slab into arrays of their own, and makes a slab of the new size for the next snapshot', () => {
    const pool = new SnapshotBuffers();
    releaseSnapshot(snapshotOf(pool, 1000));
    const second = snapshotOf(pool, 1000);
    const slab = second.a.buffer;
    releaseSnapshot(second);
    const grown = snapshotOf(pool, 2000);
    // The float64s did not fit; the next column did.
    expect(grown.a.buffer).toBe(slab);
    expect(grown.b[0]!.c.buffer).not.toBe(slab);
    expect(grown.d.buffer).toBe(slab);
    releaseSnapshot(grown);
    // Too small for what the last snapshot took: dropped, and the next snapshot's slab holds it all.
    expect(pool.freeBytes).toBe(0);
    const next = snapshotOf(pool, 2000);
    expect(next.a.buffer).not.toBe(slab);
    expect(next.d.buffer).toBe(next.a.buffer);
  });

  it('replaces a slab the state outgrew before its first column, or shrank to less than half of', () => {
    const pool = new SnapshotBuffers();
    releaseSnapshot(snapshotOf(pool, 10));
    releaseSnapshot(snapshotOf(pool, 10));
    expect(pool.freeBytes).toBeGreaterThan(0);
    // Not even the first column fits: the snapshot takes nothing from the slab, and drops it.
    const outgrown = snapshotOf(pool, 10_000);
    expect(outgrown.a.buffer.byteLength).toBe(10_003);
    expect(pool.freeBytes).toBe(0);
    releaseSnapshot(outgrown);
    const large = snapshotOf(pool, 10_000);
    expect(large.d.buffer).toBe(large.a.buffer);
    releaseSnapshot(large);
    expect(pool.freeBytes).toBe(large.a.buffer.byteLength);
    // A snapshot of a quarter the size fits, but the slab is not kept at four times what it needs.
    releaseSnapshot(snapshotOf(pool, 2_500));
    expect(pool.freeBytes).toBe(0);
    const small = snapshotOf(pool, 2_500);
    expect(small.a.buffer.byteLength).toBeLessThan(large.a.buffer.byteLength / 2);
  });

  it('gives each slab back to the pool it came from: engines checkpointing side by side keep their own', () => {
    const a = new SnapshotBuffers();
    const b = new SnapshotBuffers();
    releaseSnapshot(snapshotOf(a, 50_000));
    releaseSnapshot(snapshotOf(b, 10_000));
    // Two engines' cuts (the runner's partitions in one process), then both checkpoints saved.
    const first = snapshotOf(a, 50_000);
    const second = snapshotOf(b, 10_000);
    releaseSnapshot(second);
    releaseSnapshot(first);
    expect(a.freeBytes).toBe(first.a.buffer.byteLength);
    expect(b.freeBytes).toBe(second.a.buffer.byteLength);
    expect(snapshotOf(a, 50_000).a.buffer).toBe(first.a.buffer);
    expect(snapshotOf(b, 10_000).a.buffer).toBe(second.a.buffer);
    // Outside withSnapshotBuffers, columns are plain new arrays.
    expect(uint32Column(10).buffer.byteLength).toBe(40);
  });

  it('lets go of its slab when a snapshot needs nothing (the state emptied)', () => {
    const pool = new SnapshotBuffers();
    releaseSnapshot(snapshotOf(pool, 100));
    releaseSnapshot(snapshotOf(pool, 100));
    expect(pool.freeBytes).toBeGreaterThan(0);
    withSnapshotBuffers(pool, () => ({ empty: true }));
    expect(pool.freeBytes).toBe(0);
  });
});
