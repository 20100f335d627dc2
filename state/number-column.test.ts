import { describe, expect, it } from 'vitest';
import { column } from '../test/support/state-values.ts';
import { decodeNumberColumn, NumberColumnWriter } from './number-column.ts';

/** A writer's column as its JSON (base64) text, written from `values`. */
function written(values: number[]): string {
  const writer = new NumberColumnWriter(values.length + 3);
  for (const [i, v] of values.entries()) writer.set(i, v);
  return JSON.parse(JSON.stringify(writer.done(values.length))) as string;
}

describe('number columns', () => {
  it('are uint32s while every number is a whole number from 0 to 2^32 - 1', () => {
    const text = written([0, 1, 7, 2 ** 32 - 1]);
    expect(column(text, 'uint32')).toEqual([0, 1, 7, 2 ** 32 - 1]);
    expect([...decodeNumberColumn(text, 4, 'bad')]).toEqual([0, 1, 7, 2 ** 32 - 1]);
  });

  it('go on as float64s from the first number that does not fit, keeping those before it', () => {
    for (const odd of [0.5, -1, 2 ** 32, Infinity, -Infinity, Number.NaN, -0]) {
      const text = written([3, 4, odd, 5]);
      expect(Buffer.from(text, 'base64').length).toBe(32);
      const decoded = [...decodeNumberColumn(text, 4, 'bad')];
      expect(decoded).toEqual([3, 4, odd, 5]);
      // -0 stays -0 (toEqual tells them apart).
      if (Object.is(odd, -0)) expect(Object.is(decoded[2], -0)).toBe(true);
    }
  });

  it('read by their length: a column of float64s reads too, one of another size does not', () => {
    const float64s = Buffer.from(Float64Array.of(1, 2, 3).buffer);
    expect([...decodeNumberColumn(float64s, 3, 'bad')]).toEqual([1, 2, 3]);
    expect([...decodeNumberColumn(new Uint8Array(0), 0, 'bad')]).toEqual([]);
    expect(() => decodeNumberColumn(float64s, 4, 'counts')).toThrow('counts: 24 bytes are neither 4 uint32s nor 4 float64s');
  });

  it('write a column mostly of zeros as its other entries, which read back in place', () => {
    const counts = Array.from({ length: 100 }, (_, i) => (i % 10 === 3 ? i : 0));
    const text = written(counts);
    // Header (8), 10 indices (40), 10 uint32 values (40): 88 bytes for 400.
    expect(Buffer.from(text, 'base64').length).toBe(88);
    const decoded = decodeNumberColumn(text, 100, 'bad');
    expect(decoded).toBeInstanceOf(Uint32Array);
    expect([...decoded]).toEqual(counts);

    // Sums: float64 values, an odd count of them (indices padded), -0 and NaN kept as entries.
    const sums = Array.from({ length: 100 }, () => 0);
    sums[0] = 19.99;
    sums[50] = -0;
    sums[99] = Number.NaN;
    const sumText = written(sums);
    expect(Buffer.from(sumText, 'base64').length).toBe(8 + 16 + 24);
    const decodedSums = [...decodeNumberColumn(sumText, 100, 'bad')];
    expect(decodedSums).toEqual(sums);
    expect(Object.is(decodedSums[50], -0)).toBe(true);

    // All zeros: the header alone.
    expect([...decodeNumberColumn(written(Array.from({ length: 64 }, () => 0)), 64, 'bad')]).toEqual(Array.from({ length: 64 }, () => 0));
  });

  it('stay dense unless sparse takes less than half the bytes', () => {
    // 25 entries of 100 as uint32s: 8 + 100 + 100 = 208 bytes, more than half of 400.
    const quarter = Array.from({ length: 100 }, (_, i) => (i % 4 === 0 ? 1 : 0));
    expect(Buffer.from(written(quarter), 'base64').length).toBe(400);
    // Three zeros of three: 8 bytes sparse against 12 dense.
    expect(Buffer.from(written([0, 0, 0]), 'base64').length).toBe(12);
  });

  it('refuse a sparse column that does not add up', () => {
    const header = (entries: number, width: number, extra: number[]) => Buffer.from(Uint32Array.of(entries, width, ...extra).buffer);
    expect(() => decodeNumberColumn(header(1, 4, [5, 0, 9]), 100, 'sums')).not.toThrow();
    expect(() => decodeNumberColumn(header(1, 2, [5, 0, 9]), 100, 'sums')).toThrow('sums: a sparse column of 20 bytes does not hold 1 entries of 2 bytes');
    expect(() => decodeNumberColumn(header(2, 4, [5, 3, 9, 9]), 100, 'sums')).toThrow("sums: a sparse column's indices must ascend below 100");
    expect(() => decodeNumberColumn(header(1, 4, [100, 0, 9]), 100, 'sums')).toThrow("sums: a sparse column's indices must ascend below 100");
  });
});
