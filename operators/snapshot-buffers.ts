/**
 * Memory for snapshot columns, reused from one checkpoint to the next.
 *
 * Why: a checkpoint's columns are tens of megabytes of typed arrays (dedupe's fingerprints, the
 * windows' `distinct` sets, the sessions), copied inside the runner's synchronous cut. Written into
 * fresh memory, every 4 KB page faults on its first write, and on a virtual machine that is most
 * of the copy's cost: filling 40 MB of fresh arrays took 115-143 ms here, the same arrays reused
 * 4-7 ms. So snapshot columns of at least `MIN_POOLED_BYTES` come from here, and the runner gives a
 * checkpoint's buffers back once the checkpoint is saved (`releaseSnapshot`), for the next cut.
 * Nothing else may hold a column after its release: the next snapshot overwrites it.
 *
 * Each engine has a pool of its own (`withSnapshotBuffers` around its cut): the partitions run in
 * one process checkpoint at about the same time, and one shared pool, sized by whichever partition
 * gave back last, would hand the others fresh memory every round.
 */
import { TypedColumn } from './typed-columns.ts';

/** Smaller columns are left to the allocator: few pages each. */
const MIN_POOLED_BYTES = 64 * 1024;

/** The pool each pooled buffer came from: a release gives it back there. */
const owners = new WeakMap<ArrayBuffer, SnapshotBuffers>();

export class SnapshotBuffers {
  /** Free buffers, smallest first. */
  private free: ArrayBuffer[] = [];

  /** Free bytes held (for tests). */
  get freeBytes(): number {
    return this.free.reduce((n, b) => n + b.byteLength, 0);
  }

  /** A buffer of at least `bytes`, with arbitrary contents: the smallest free one no more than twice as large, else a new one. */
  take(bytes: number): ArrayBuffer {
    if (bytes < MIN_POOLED_BYTES) return new ArrayBuffer(bytes);
    const i = this.free.findIndex((b) => b.byteLength >= bytes);
    if (i >= 0 && this.free[i]!.byteLength <= 2 * bytes) return this.free.splice(i, 1)[0]!;
    // A little headroom: state grows between checkpoints, and a buffer just too small is no use.
    const buffer = new ArrayBuffer(Math.ceil((bytes * 1.125) / 8) * 8);
    owners.set(buffer, this);
    return buffer;
  }

  /**
   * Take back a saved checkpoint's buffers (others are ignored). They replace the free buffers
   * left over from earlier checkpoints: the pool holds one checkpoint's columns, those of the
   * engine's last (keeping leftovers up to 1.5x of it measured ~24 MB more over four partitions,
   * and cuts no faster).
   */
  give(buffers: Iterable<ArrayBuffer>): void {
    const given = new Set<ArrayBuffer>();
    for (const b of buffers) if (owners.get(b) === this) given.add(b);
    this.free = [...given].sort((a, b) => a.byteLength - b.byteLength);
  }
}

/** The pool of columns taken outside `withSnapshotBuffers` (an operator snapshotted on its own). */
export const snapshotBuffers = new SnapshotBuffers();

let current = snapshotBuffers;

/** Run `snapshot` (synchronous) with its columns taken from `pool`. */
export function withSnapshotBuffers<T>(pool: SnapshotBuffers, snapshot: () => T): T {
  const outer = current;
  current = pool;
  try {
    return snapshot();
  } finally {
    current = outer;
  }
}

export function float64Column(length: number): Float64Array {
  return new Float64Array(current.take(length * 8), 0, length);
}

export function uint32Column(length: number): Uint32Array {
  return new Uint32Array(current.take(length * 4), 0, length);
}

export function uint8Column(length: number): Uint8Array {
  return new Uint8Array(current.take(length), 0, length);
}

/** Give a saved snapshot's column buffers back to the pools they came from (walks the snapshot's objects and arrays). */
export function releaseSnapshot(snapshot: unknown): void {
  const buffers: ArrayBuffer[] = [];
  const visit = (value: unknown): void => {
    if (value instanceof TypedColumn) {
      const buffer = value.buffer;
      if (buffer instanceof ArrayBuffer) buffers.push(buffer);
    } else if (typeof value === 'object' && value !== null && !ArrayBuffer.isView(value)) {
      for (const v of Object.values(value)) visit(v);
    }
  };
  visit(snapshot);
  const byPool = new Map<SnapshotBuffers, ArrayBuffer[]>();
  for (const buffer of buffers) {
    const pool = owners.get(buffer);
    if (pool) byPool.set(pool, [...(byPool.get(pool) ?? []), buffer]);
  }
  for (const [pool, given] of byPool) pool.give(given);
}
