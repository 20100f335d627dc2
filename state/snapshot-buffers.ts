/**
 * Memory for snapshot columns, reused from one checkpoint to the next.
 *
 * Why: a checkpoint's columns are tens of megabytes of typed arrays (dedupe's fingerprints, the
 * windows' `distinct` sets, the sessions), copied inside the runner's synchronous cut. Written into
 * fresh memory, every 4 KB page faults on its first write, and on a virtual machine that is most
 * of the copy's cost: filling 40 MB of fresh arrays took 115-143 ms here, the same arrays reused
 * 4-7 ms. So an engine's cut takes its columns one after another from one slab, sized by the
 * last snapshot, and the checkpointer that handed it over (core/checkpointer.ts) gives the slab
 * back once the checkpoint is saved (`releaseSnapshot`), for the next cut. Nothing else may hold a column after its release: the next
 * snapshot overwrites it.
 *
 * One slab, not a pool of buffers of each column's size: columns change size between checkpoints,
 * so a pool of per-column buffers held headroom on each and handed a column a buffer up to twice
 * its size (35 MB held for the clickstream pipeline's 23 MB of columns; a slab holds 25).
 *
 * Each runner's checkpointer has a slab of its own (`withSnapshotBuffers` around its engine's cut):
 * the partitions run in one process checkpoint at about the same time. Columns taken outside `withSnapshotBuffers` (an
 * operator snapshotted on its own, in tests) are plain new arrays.
 */
import { TypedColumn } from './typed-columns.ts';

/** Column offsets in a slab are multiples of 8, as a Float64Array's must be. */
const ALIGN = 8;

/** A new slab's room beyond what the last snapshot took: state grows between checkpoints. */
const HEADROOM = 1.0625;

/** The engine each slab belongs to: a release gives it back there. */
const owners = new WeakMap<ArrayBuffer, SnapshotBuffers>();

const aligned = (bytes: number): number => Math.ceil(bytes / ALIGN) * ALIGN;

/** Room of a buffer of its own, outside any slab. */
const fresh = (bytes: number): { buffer: ArrayBuffer; offset: number } => ({ buffer: new ArrayBuffer(bytes), offset: 0 });

export class SnapshotBuffers {
  /** The slab, while no snapshot holds it. */
  private slab: ArrayBuffer | undefined;
  /** During a snapshot: the slab its columns come from, and the first byte not yet taken. */
  private active: ArrayBuffer | undefined;
  private used = 0;
  /** Bytes the current or last snapshot asked for, all columns together. */
  private wanted = 0;

  /** Bytes held for the next snapshot (for tests). */
  get freeBytes(): number {
    return this.slab?.byteLength ?? 0;
  }

  /**
   * A snapshot starts: its columns come from the free slab, or from a new one sized by the last
   * snapshot if there is none (the first snapshot takes plain arrays: its size is not known yet).
   */
  begin(): void {
    let slab = this.slab;
    this.slab = undefined;
    if (slab === undefined && this.wanted > 0) {
      slab = new ArrayBuffer(aligned(this.wanted * HEADROOM));
      owners.set(slab, this);
    }
    this.active = slab;
    this.used = 0;
    this.wanted = 0;
  }

  /** The snapshot is taken: the slab is its until given back (or free again, if it took nothing from it). */
  end(): void {
    if (this.active !== undefined && this.used === 0) this.keep(this.active);
    this.active = undefined;
  }

  /** Room for `bytes` with arbitrary contents: the slab's next bytes, else (outside a snapshot, or the slab is full) a new buffer. */
  take(bytes: number): { buffer: ArrayBuffer; offset: number } {
    const size = aligned(bytes);
    this.wanted += size;
    const slab = this.active;
    if (slab !== undefined && this.used + size <= slab.byteLength) {
      const offset = this.used;
      this.used += size;
      return { buffer: slab, offset };
    }
    return fresh(bytes);
  }

  /** Take back a saved checkpoint's slab (another engine's, or any other buffer, is ignored). */
  give(buffer: ArrayBuffer): void {
    if (owners.get(buffer) === this) this.keep(buffer);
  }

  /**
   * Keep `slab` for the next snapshot if it holds what the last one asked for, and not more than
   * twice that (the state shrank): otherwise the next snapshot gets a slab of the right size.
   */
  private keep(slab: ArrayBuffer): void {
    if (slab.byteLength >= this.wanted && slab.byteLength <= 2 * this.wanted) this.slab = slab;
  }
}

let current: SnapshotBuffers | undefined;

/** Run `snapshot` (synchronous) with its columns taken from `pool`. */
export function withSnapshotBuffers<T>(pool: SnapshotBuffers, snapshot: () => T): T {
  const outer = current;
  current = pool;
  pool.begin();
  try {
    return snapshot();
  } finally {
    pool.end();
    current = outer;
  }
}

function take(bytes: number): { buffer: ArrayBuffer; offset: number } {
  return current === undefined ? fresh(bytes) : current.take(bytes);
}

export function float64Column(length: number): Float64Array {
  const { buffer, offset } = take(length * 8);
  return new Float64Array(buffer, offset, length);
}

export function uint32Column(length: number): Uint32Array {
  const { buffer, offset } = take(length * 4);
  return new Uint32Array(buffer, offset, length);
}

export function uint8Column(length: number): Uint8Array {
  const { buffer, offset } = take(length);
  return new Uint8Array(buffer, offset, length);
}

/** Give a saved snapshot's slabs back to the engines they came from (walks the snapshot's objects and arrays). */
export function releaseSnapshot(snapshot: unknown): void {
  const buffers = new Set<ArrayBuffer>();
  const visit = (value: unknown): void => {
    if (value instanceof TypedColumn) {
      const buffer = value.buffer;
      if (buffer instanceof ArrayBuffer) buffers.add(buffer);
    } else if (typeof value === 'object' && value !== null && !ArrayBuffer.isView(value)) {
      for (const v of Object.values(value)) visit(v);
    }
  };
  visit(snapshot);
  for (const buffer of buffers) owners.get(buffer)?.give(buffer);
}
