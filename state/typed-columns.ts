/**
 * Typed arrays in checkpoints (dedupe's fingerprints, `distinct`'s sets, window snapshots'
 * columns): a snapshot holds the arrays' bytes instead of a JSON array of their values. The
 * checkpoint store writes them as raw bytes beside the checkpoint's JSON (core/checkpoint-codec.ts);
 * plain `JSON.stringify` writes them as base64 text. Restoring takes either.
 */

/**
 * A typed array as a snapshot holds it. Snapshots are taken inside the runner's synchronous cut,
 * while the pipeline waits, and encoded afterwards, a few milliseconds at a time: the cut only
 * copies the array (the copy must be the snapshot's own, since the live one keeps changing, and
 * nothing may write to it afterwards). Encoding megabytes of fingerprints in the cut was most of
 * its time (dedupe: ~60% of the cut at 500k keys).
 */
export class TypedColumn {
  constructor(private readonly array: Uint8Array | Uint32Array | Float64Array) {}

  /** The memory the column's array is a view of (see snapshot-buffers.ts). */
  get buffer(): ArrayBufferLike {
    return this.array.buffer;
  }

  /** The array's bytes, not copied (platform byte order, little-endian on every target Node runs on). */
  bytes(): Uint8Array {
    return new Uint8Array(this.array.buffer, this.array.byteOffset, this.array.byteLength);
  }

  /** Base64 of the bytes, for `JSON.stringify`. */
  toJSON(): string {
    return Buffer.from(this.array.buffer, this.array.byteOffset, this.array.byteLength).toString('base64');
  }
}

/** A typed column as restored: base64 text (JSON checkpoints) or the bytes themselves (binary ones). */
export type EncodedColumn = string | Uint8Array;

export function isEncodedColumn(value: unknown): value is EncodedColumn {
  return typeof value === 'string' || value instanceof Uint8Array;
}

/**
 * A snapshot type `S` as it is taken: its column fields `K` are still `TypedColumn`s, encoded when
 * the snapshot is serialized.
 */
export type Taken<S, K extends keyof S> = Omit<S, K> & { readonly [P in keyof Pick<S, K>]: TypedColumn };

/** The inverse of `TypedColumn`'s encodings; throws `error` if the bytes are not a whole number of elements. */
export function decodeColumn<A extends Uint8Array | Uint32Array | Float64Array>(
  encoded: EncodedColumn,
  make: (buffer: ArrayBuffer, length: number) => A,
  bytes: number,
  error: string,
): A {
  const raw = typeof encoded === 'string' ? Buffer.from(encoded, 'base64') : encoded;
  if (raw.length % bytes !== 0) throw new Error(error);
  // Copy into a fresh, aligned buffer of its own (the bytes may sit at any offset of a shared
  // buffer: a Buffer pool, or the whole checkpoint as read).
  const copy = new ArrayBuffer(raw.length);
  new Uint8Array(copy).set(raw);
  return make(copy, raw.length / bytes);
}

export const uint8s = (buffer: ArrayBuffer, length: number): Uint8Array => new Uint8Array(buffer, 0, length);
export const uint32s = (buffer: ArrayBuffer, length: number): Uint32Array => new Uint32Array(buffer, 0, length);
export const float64s = (buffer: ArrayBuffer, length: number): Float64Array => new Float64Array(buffer, 0, length);
