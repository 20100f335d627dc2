/**
 * A checkpoint column of numbers as uint32s while every one is a whole number from 0 to 2^32 - 1,
 * else as float64s: events per window, `count` states, and any other number state that happens
 * to fit. The readers know how many numbers a column holds, so its byte length tells which it is,
 * and columns written as float64s by earlier builds read as before.
 *
 * Why: a session operator writes a count per session (and `count` states beside it) at every
 * checkpoint, and most of those change between two checkpoints, so each one writes them again:
 * as uint32s that is half the bytes (1.9 of the clickstream's 15.6 MB written per checkpoint).
 */
import { float64Column, uint32Column } from './snapshot-buffers.ts';
import { decodeColumn, type EncodedColumn, float64s, TypedColumn, uint32s } from './typed-columns.ts';

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

  /** The first `length` numbers. */
  done(length: number): TypedColumn {
    return new TypedColumn(this.uint32s !== undefined ? this.uint32s.subarray(0, length) : this.float64s!.subarray(0, length));
  }
}

/** A column `NumberColumnWriter` wrote (or float64s), of `length` numbers; throws `error` if its size is neither. */
export function decodeNumberColumn(encoded: EncodedColumn, length: number, error: string): Uint32Array | Float64Array {
  const bytes = typeof encoded === 'string' ? Buffer.byteLength(encoded, 'base64') : encoded.byteLength;
  if (length === 0 && bytes === 0) return new Float64Array(0);
  if (bytes === 4 * length) return decodeColumn(encoded, uint32s, 4, error);
  if (bytes === 8 * length) return decodeColumn(encoded, float64s, 8, error);
  throw new Error(`${error}: ${bytes} bytes are neither ${length} uint32s nor ${length} float64s`);
}
