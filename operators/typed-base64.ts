/**
 * Typed arrays as base64 text, for checkpoints of state kept in typed arrays (dedupe's fingerprints,
 * `distinct`'s sets): a snapshot is the arrays' bytes instead of a JSON array of their values.
 */
export function toBase64(array: Uint8Array | Uint32Array | Float64Array): string {
  return Buffer.from(array.buffer, array.byteOffset, array.byteLength).toString('base64');
}

/**
 * A typed array that becomes base64 text only when serialized (`JSON.stringify` calls `toJSON`).
 * Snapshots are taken inside the runner's synchronous cut, while the pipeline waits; their JSON is
 * produced afterwards, a few milliseconds at a time. Encoding megabytes of fingerprints in the cut
 * was most of its time (dedupe: ~60% of the cut at 500k keys), so the cut only copies the array
 * (the copy must be the snapshot's own: the live one keeps changing).
 */
export class Base64Array {
  constructor(private readonly array: Uint8Array | Uint32Array | Float64Array) {}

  toJSON(): string {
    return toBase64(this.array);
  }
}

/**
 * A snapshot type `S` as it is taken: its base64 fields `K` are still `Base64Array`s, encoded when
 * the snapshot is serialized.
 */
export type Taken<S, K extends keyof S> = Omit<S, K> & { readonly [P in keyof Pick<S, K>]: Base64Array };

/** The inverse of `toBase64`; throws `error` if the bytes are not a whole number of elements. */
export function fromBase64<A extends Uint8Array | Uint32Array | Float64Array>(
  text: string,
  make: (buffer: ArrayBuffer, length: number) => A,
  bytes: number,
  error: string,
): A {
  const raw = Buffer.from(text, 'base64');
  if (raw.length % bytes !== 0) throw new Error(error);
  // Copy into a fresh, aligned buffer (a Buffer may sit at any offset of a shared pool).
  const copy = new ArrayBuffer(raw.length);
  new Uint8Array(copy).set(raw);
  return make(copy, raw.length / bytes);
}

export const uint8s = (buffer: ArrayBuffer, length: number): Uint8Array => new Uint8Array(buffer, 0, length);
export const uint32s = (buffer: ArrayBuffer, length: number): Uint32Array => new Uint32Array(buffer, 0, length);
export const float64s = (buffer: ArrayBuffer, length: number): Float64Array => new Float64Array(buffer, 0, length);
