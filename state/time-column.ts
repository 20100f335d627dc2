/**
 * A checkpoint column of event times (epoch ms) as their distance from a base, uint32s while each
 * is a whole number of ms that gives its time back exactly, else the times themselves as float64s:
 * dedupe's remembered times, window starts, purged sessions' ends. Half the bytes of float64s.
 *
 * The base is a multiple of 2^31 ms at least that far before the latest time the operator saw, so
 * every time of the last ~25 days fits, and it stays put from one checkpoint to the next (it moves
 * once every ~25 days): a column's bytes change where its times do, which is what an incremental
 * checkpoint writes (core/content-chunks.ts). A snapshot keeps the base beside the column; without
 * one (snapshots of earlier builds) the column is float64 times.
 */
import { float64Column, uint32Column } from './snapshot-buffers.ts';
import { decodeColumn, type EncodedColumn, float64s, TypedColumn, uint32s } from './typed-columns.ts';

const BASE_STEP = 2 ** 31;

/** Fills a column of up to `capacity` times, set in index order, from the base `latest` gives. */
export class TimeColumnWriter {
  private narrow: Uint32Array | undefined;
  private wide: Float64Array | undefined;
  /** What the column's numbers are distances from: 0 once it holds the times themselves. */
  base: number;

  constructor(
    private readonly capacity: number,
    latest: number,
  ) {
    this.base = Number.isFinite(latest) ? (Math.floor(latest / BASE_STEP) - 1) * BASE_STEP : 0;
    this.narrow = uint32Column(capacity);
  }

  set(index: number, time: number): void {
    const narrow = this.narrow;
    if (narrow !== undefined) {
      const d = time - this.base;
      // -0 would come back as 0; a fraction far below the base would not come back at all.
      if (d >>> 0 === d && d + this.base === time && (time !== 0 || 1 / time > 0)) {
        narrow[index] = d;
        return;
      }
      const wide = float64Column(this.capacity);
      for (let i = 0; i < index; i++) wide[i] = narrow[i]! + this.base;
      this.wide = wide;
      this.narrow = undefined;
      this.base = 0;
    }
    this.wide![index] = time;
  }

  /** The time at `index` (set already). */
  get(index: number): number {
    return this.narrow !== undefined ? this.narrow[index]! + this.base : this.wide![index]!;
  }

  /** The first `length` times; their base is `base`. */
  done(length: number): TypedColumn {
    return new TypedColumn(this.narrow !== undefined ? this.narrow.subarray(0, length) : this.wide!.subarray(0, length));
  }
}

/** `length` times from a column `TimeColumnWriter` wrote from `base` (undefined: float64 times, as earlier builds wrote them); throws `error` if its size is neither. */
export function decodeTimeColumn(encoded: EncodedColumn, length: number, base: number | undefined, error: string): Float64Array {
  const bytes = typeof encoded === 'string' ? Buffer.byteLength(encoded, 'base64') : encoded.byteLength;
  if (base === undefined || (bytes === 8 * length && bytes > 0)) {
    const times = decodeColumn(encoded, float64s, 8, error);
    if (times.length !== length) throw new Error(`${error}: ${times.length} times for ${length}`);
    return times;
  }
  if (!Number.isFinite(base)) throw new Error(`${error}: its base must be a finite number`);
  if (bytes !== 4 * length) throw new Error(`${error}: ${bytes} bytes are neither ${length} uint32s nor ${length} float64s`);
  const distances = decodeColumn(encoded, uint32s, 4, error);
  const times = new Float64Array(length);
  for (let i = 0; i < length; i++) times[i] = distances[i]! + base;
  return times;
}
