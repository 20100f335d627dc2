import { describe, expect, it } from 'vitest';
import { fnv1a32 } from './fnv1a.ts';

describe('fnv1a32', () => {
  it('hashes with 32-bit FNV-1a (the reference vectors)', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });
});
