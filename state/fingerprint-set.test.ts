import { describe, expect, it } from 'vitest';
import { seededRandom } from '../test/support/seeded-random.ts';
import { fp } from '../test/support/state-values.ts';
import { FingerprintSet } from './fingerprint-set.ts';

describe('FingerprintSet', () => {
  it('agrees with a Set under random inserts across growth, and survives pairs and addAll', () => {
    const set = new FingerprintSet();
    const reference = new Set<string>();
    const random = seededRandom(11);
    const rand = (n: number): number => random.int(n);
    for (let step = 0; step < 50_000; step++) {
      const key = `u${rand(20_000)}`;
      const [hi, lo] = fp(key);
      expect(set.add(hi, lo)).toBe(!reference.has(key));
      reference.add(key);
      if (step % 997 === 0) expect(set.size).toBe(reference.size);
    }
    for (let i = 0; i < 20_000; i++) expect(set.has(...fp(`u${i}`))).toBe(reference.has(`u${i}`));
    const pairs = set.toPairs();
    expect(pairs.length).toBe(2 * reference.size);
    const restored = FingerprintSet.fromPairs(pairs);
    expect(restored.size).toBe(reference.size);
    const union = new FingerprintSet();
    union.add(...fp('only-here'));
    union.addAll(restored);
    expect(union.size).toBe(reference.size + 1);
    expect(union.has(...fp('u1'))).toBe(reference.has('u1'));
  });

  it('finds entries whose probe run wraps around the end of the table', () => {
    const set = new FingerprintSet();
    // Same home slot (the last of 8) for all three: they wrap to slots 0 and 1.
    expect([set.add(0, 7), set.add(8, 15), set.add(16, 23)]).toEqual([true, true, true]);
    expect([set.has(0, 7), set.has(8, 15), set.has(16, 23), set.has(24, 31)]).toEqual([true, true, true, false]);
    expect(set.add(8, 15)).toBe(false);
    expect(set.size).toBe(3);
  });
});

describe('FingerprintSet order', () => {
  it('gives its pairs in the order they were added, across growth, so a grown set only differs at the end', () => {
    const set = new FingerprintSet();
    for (let i = 0; i < 1_000; i++) set.add(...fp(`u${i}`));
    const before = set.toPairs().slice();
    for (let i = 1_000; i < 5_000; i++) set.add(...fp(`u${i}`));
    set.add(...fp('u3')); // already there: no change
    const after = set.toPairs();
    expect(after.length).toBe(2 * 5_000);
    expect([...after.subarray(0, before.length)]).toEqual([...before]);
    expect([...after.subarray(2 * 4_999)]).toEqual(fp('u4999'));
    expect([...FingerprintSet.fromPairs(after).toPairs()]).toEqual([...after]);
  });
});
