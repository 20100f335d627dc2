/**
 * A checkpoint column of numbers as uint32s while every one is a whole number from 0 to 2^32 - 1,
 * else as float64s: events per window, `count` states, and any other number state that happens
 * to fit. A column mostly of zeros is written as its other entries only (sparse, below). The
 * readers know how many numbers a column holds, so its byte length tells which it is, and columns
 * written as float64s by earlier builds read as before.
 *
 * Why: a session operator writes a count per session (and `count` states beside it) at every
 * checkpoint, and most of those change between two checkpoints, so each one writes them again:
 * as uint32s that is half the bytes (1.9 of the clickstream's 15.6 MB written per checkpoint).
 * Its `purchases` count and `revenue` sum are 0 in most sessions, and such a column, shifting with
 * the sessions around it, was written whole at every checkpoint (sparse: 1.8 MB less of the 13.4
 * each wrote).
 *
 * Sparse layout, smaller than half the dense one (so never 4 or 8 bytes per number): uint32s
 * [count of entries, value width 4 or 8], the entries' indices (ascending, padded to an even
 * count), then their values as uint32s or float64s. An entry is any number but +0 (-0 and NaN are
 * entries).
 */
import { float64Column, uint8Column, uint32Column } from './snapshot-buffers.ts';
import { decodeColumn, type EncodedColumn, float64s, TypedColumn, uint8s, uint32s } from './typed-columns.ts';

/** Whether `v` is a uint32 (and not -0, which a uint32 would read back as 0). */
function fitsUint32(v: number): boolean {
  return v >>> 0 === v && (v !== 0 || 1 / v > 0);
}

/** Fills a column of up to `capacity` numbers (from the snapshot's slab, see snapshot-buffers.ts), as uint32s until one does not fit. */
export class NumberColumnWriter {
  private uint32s: Uint32Array | undefined;
  private float64s: Float64Array | undefined;

  constructor(private readonly capacity: number) {
    this.uint32s = uint32Column(capacity);
  }

  set(index: number, value: number): void {
    const narrow = this.uint32s;
    if (narrow !== undefined) {
      if (fitsUint32(value)) {
        narrow[index] = value;
        return;
      }
      // The first number that does not fit: the column goes on as float64s (what is written so far
      // is copied over; rows are set in order).
      const wide = float64Column(this.capacity);
      for (let i = 0; i < index; i++) wide[i] = narrow[i]!;
      this.float64s = wide;
      this.uint32s = undefined;
    }
    this.float64s![index] = value;
  }

  /** The first `length` numbers: sparse when that is less than half their dense bytes. */
  done(length: number): TypedColumn {
    const dense = this.uint32s !== undefined ? this.uint32s.subarray(0, length) : this.float64s!.subarray(0, length);
    const width = dense.BYTES_PER_ELEMENT;
    let entries = 0;
    for (let i = 0; i < length; i++) if (isEntry(dense[i]!)) entries++;
    const valuesAt = SPARSE_HEADER + 4 * (entries + (entries & 1));
    const bytes = valuesAt + width * entries;
    if (2 * bytes >= width * length) return new TypedColumn(dense);
    const sparse = uint8Column(bytes);
    const at = sparse.byteOffset;
    const header = new Uint32Array(sparse.buffer, at, 2);
    header[0] = entries;
    header[1] = width;
    const indices = new Uint32Array(sparse.buffer, at + SPARSE_HEADER, entries);
    const values = width === 4 ? new Uint32Array(sparse.buffer, at + valuesAt, entries) : new Float64Array(sparse.buffer, at + valuesAt, entries);
    let n = 0;
    for (let i = 0; i < length; i++) {
      const v = dense[i]!;
      if (!isEntry(v)) continue;
      indices[n] = i;
      values[n++] = v;
    }
    return new TypedColumn(sparse);
  }
}

/** Bytes before a sparse column's indices: its entry count and value width, as uint32s. */
const SPARSE_HEADER = 8;

/** Anything but +0. */
function isEntry(v: number): boolean {
  return v !== 0 || 1 / v < 0;
}

/** A column `NumberColumnWriter` wrote (or float64s), of `length` numbers; throws `error` if its size is neither. */
export function decodeNumberColumn(encoded: EncodedColumn, length: number, error: string): Uint32Array | Float64Array {
  const bytes = typeof encoded === 'string' ? Buffer.byteLength(encoded, 'base64') : encoded.byteLength;
  if (length === 0 && bytes === 0) return new Float64Array(0);
  if (bytes === 4 * length) return decodeColumn(encoded, uint32s, 4, error);
  if (bytes === 8 * length) return decodeColumn(encoded, float64s, 8, error);
  if (bytes >= SPARSE_HEADER && bytes < 4 * length) return decodeSparse(decodeColumn(encoded, uint8s, 1, error), length, error);
  throw new Error(`${error}: ${bytes} bytes are neither ${length} uint32s nor ${length} float64s, nor fewer of them`);
}

function decodeSparse(raw: Uint8Array, length: number, error: string): Uint32Array | Float64Array {
  // `raw` has a buffer of its own (decodeColumn copies): views at any multiple of 8 are aligned.
  const [entries, width] = new Uint32Array(raw.buffer, 0, 2) as unknown as [number, number];
  const valuesAt = SPARSE_HEADER + 4 * (entries + (entries & 1));
  if ((width !== 4 && width !== 8) || raw.byteLength !== valuesAt + width * entries || entries > length) {
    throw new Error(`${error}: a sparse column of ${raw.byteLength} bytes does not hold ${entries} entries of ${width} bytes`);
  }
  const indices = new Uint32Array(raw.buffer, SPARSE_HEADER, entries);
  const values = width === 4 ? new Uint32Array(raw.buffer, valuesAt, entries) : new Float64Array(raw.buffer, valuesAt, entries);
  const out = width === 4 ? new Uint32Array(length) : new Float64Array(length);
  let previous = -1;
  for (let n = 0; n < entries; n++) {
    const i = indices[n]!;
    if (i <= previous || i >= length) throw new Error(`${error}: a sparse column's indices must ascend below ${length}`);
    out[i] = values[n]!;
    previous = i;
  }
  return out;
}
