import { describe, expect, it } from 'vitest';
import { decodeTimeColumn, TimeColumnWriter } from './time-column.ts';

/** A writer's column as its JSON (base64) text and base, written from `times`. */
function written(times: number[], latest: number): { text: string; base: number } {
  const writer = new TimeColumnWriter(times.length + 3, latest);
  for (const [i, t] of times.entries()) writer.set(i, t);
  return { text: JSON.parse(JSON.stringify(writer.done(times.length))) as string, base: writer.base };
}

const NOW = 1_796_621_399_645;

describe('time columns', () => {
  it('are uint32 distances from a multiple of 2^31 ms at least that far before the latest time', () => {
    const times = [NOW - 600_000, NOW - 1, NOW];
    const { text, base } = written(times, NOW);
    expect(base % 2 ** 31).toBe(0);
    expect(NOW - base).toBeGreaterThanOrEqual(2 ** 31);
    expect(NOW - base).toBeLessThan(2 ** 32);
    expect(Buffer.from(text, 'base64').length).toBe(12);
    expect([...decodeTimeColumn(text, 3, base, 'bad')]).toEqual(times);
  });

  it('keep their base while the latest time moves within its step of 2^31 ms', () => {
    const base = written([NOW], NOW).base;
    expect(written([NOW + 3_600_000], NOW + 3_600_000).base).toBe(base);
    expect(written([NOW + 2 ** 31], NOW + 2 ** 31).base).toBe(base + 2 ** 31);
  });

  it('go on as the times themselves, from the first that would not come back exactly, keeping those before it', () => {
    for (const odd of [NOW + 0.25, 0.1, -0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, NOW - 2 ** 33]) {
      const times = [NOW - 5, odd, NOW];
      const { text, base } = written(times, NOW);
      expect(base).toBe(0);
      expect(Buffer.from(text, 'base64').length).toBe(24);
      const decoded = [...decodeTimeColumn(text, 3, base, 'bad')];
      expect(decoded).toEqual(times);
      expect(Object.is(decoded[1], odd)).toBe(true);
    }
  });

  it('start from 0 before any time was seen, and read float64 times written without a base', () => {
    expect(written([5, 6], Number.NEGATIVE_INFINITY).base).toBe(0);
    const float64s = Buffer.from(Float64Array.of(NOW, NOW + 1).buffer);
    expect([...decodeTimeColumn(float64s, 2, undefined, 'bad')]).toEqual([NOW, NOW + 1]);
  });

  it('refuse a column of another size, or a base that is not a finite number', () => {
    const uint32s = Buffer.from(Uint32Array.of(1, 2, 3).buffer);
    expect(() => decodeTimeColumn(uint32s, 2, 0, 'starts')).toThrow('starts: 12 bytes are neither 2 uint32s nor 2 float64s');
    expect(() => decodeTimeColumn(uint32s, 3, Number.NaN, 'starts')).toThrow('starts: its base must be a finite number');
    expect(() => decodeTimeColumn(uint32s, 3, undefined, 'starts')).toThrow('starts');
  });
});
