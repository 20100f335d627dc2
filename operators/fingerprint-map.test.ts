import { describe, expect, it } from 'vitest';
import { FingerprintMap } from './fingerprint-map.ts';
import { fp } from './testing.ts';

describe('fingerprint', () => {
  it('is deterministic, differs for near-identical keys and never 0:0', () => {
    expect(fp('event-1')).toEqual(fp('event-1'));
    const seen = new Set<string>();
    for (let i = 0; i < 200_000; i++) seen.add(fp(`evt-${i}`).join(':'));
    expect(seen.size).toBe(200_000);
    expect(fp('')).not.toEqual([0, 0]);
  });
});

describe('FingerprintMap', () => {
  it('agrees with a Map under random inserts, updates and deletes, across growth', () => {
    const map = new FingerprintMap();
    const reference = new Map<string, number>();
    let seed = 7;
    const rand = (n: number) => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) % n;
    // A small key space makes probe runs collide and wrap, and deletes shift entries back.
    for (let step = 0; step < 100_000; step++) {
      const key = `k${rand(5_000)}`;
      const [hi, lo] = fp(key);
      if (rand(3) === 0) {
        expect(map.delete(hi, lo)).toBe(reference.delete(key));
      } else {
        map.set(hi, lo, step);
        reference.set(key, step);
      }
      if (step % 997 === 0) expect(map.size).toBe(reference.size);
    }
    for (let i = 0; i < 5_000; i++) {
      const [hi, lo] = fp(`k${i}`);
      expect(map.get(hi, lo)).toBe(reference.get(`k${i}`) ?? -1);
    }
  });

  it('stores values as 32-bit unsigned integers', () => {
    const map = new FingerprintMap();
    map.set(1, 2, 2 ** 32 - 1);
    map.set(3, 4, 2 ** 32 + 5);
    expect([map.get(1, 2), map.get(3, 4)]).toEqual([2 ** 32 - 1, 5]);
  });

  it('finds entries whose probe run wraps around the end of the table', () => {
    const map = new FingerprintMap();
    // Same home slot (the last one, 1023) for all three: they wrap to slots 0 and 1.
    map.set(0, 1023, 1);
    map.set(1024, 2047, 2);
    map.set(2048, 3071, 3);
    expect([map.get(0, 1023), map.get(1024, 2047), map.get(2048, 3071)]).toEqual([1, 2, 3]);
    expect(map.delete(0, 1023)).toBe(true);
    expect([map.get(0, 1023), map.get(1024, 2047), map.get(2048, 3071)]).toEqual([-1, 2, 3]);
    expect(map.size).toBe(2);
  });
});
