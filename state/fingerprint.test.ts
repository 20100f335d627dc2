import { describe, expect, it } from 'vitest';
import { fp } from '../test/support/state-values.ts';

describe('fingerprint', () => {
  it('is deterministic, differs for near-identical keys and never 0:0', () => {
    expect(fp('event-1')).toEqual(fp('event-1'));
    const seen = new Set<string>();
    for (let i = 0; i < 200_000; i++) seen.add(fp(`evt-${i}`).join(':'));
    expect(seen.size).toBe(200_000);
    expect(fp('')).not.toEqual([0, 0]);
  });
});
