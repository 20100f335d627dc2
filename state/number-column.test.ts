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
});
