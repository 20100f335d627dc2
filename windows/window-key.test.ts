import { describe, expect, it } from 'vitest';
import { heldKey, isPacked, unpackKey, type WindowKey } from './window-key.ts';

const hold = heldKey((k: WindowKey) => k);

describe('window keys', () => {
  it('holds strings and numbers as they are (checkpoints of primitive keys unchanged)', () => {
    for (const k of ['', 'a\tb', '[1]', '{"a":1}', 7, -1.5]) {
      expect(hold(k)).toBe(k);
      expect(isPacked(hold(k))).toBe(false);
    }
  });

  it('packs tuples and records into one string and unpacks them equal, fresh each time', () => {
    for (const k of [['a', 1], ['a\tb', 'c'], [], { category: 'x', url: 'https://x/"y"' }, { b: 2, a: 1 }] as WindowKey[]) {
      const held = hold(k);
      expect(typeof held).toBe('string');
      expect(isPacked(held)).toBe(true);
      expect(unpackKey(held)).toEqual(k);
      expect(unpackKey(held)).not.toBe(unpackKey(held));
    }
    // Distinct composites stay distinct where a joined string would not.
    expect(hold(['a\tb', 'c'])).not.toBe(hold(['a', 'b\tc']));
    expect(hold(['1'])).not.toBe(hold([1]));
  });

  it('packs a string that starts with the marker, so it reads back as itself', () => {
    const held = hold('\u0001x');
    expect(held).not.toBe('\u0001x');
    expect(unpackKey(held)).toBe('\u0001x');
    expect(hold(['\u0001x'])).not.toBe(held);
  });
});
