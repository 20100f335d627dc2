import { describe, expect, it } from 'vitest';
import { count } from '../aggregators/count.ts';
import { decodeSnapshot, SnapshotBuilder } from './window-snapshot.ts';

/** Windows as `decodeSnapshot` gives them back, after a round trip through JSON. */
function roundTrip(windows: Array<[number, number]>): { json: Record<string, unknown>; back: Array<[number, number]> } {
  const agg = count<unknown>();
  const builder = new SnapshotBuilder(1, windows.length, 100, agg);
  for (const [start, end] of windows) builder.window(start, end, 1, 0, 1);
  builder.key('k');
  const json = JSON.parse(JSON.stringify(builder.build('tumbling', 100, 100))) as Record<string, unknown>;
  const back: Array<[number, number]> = [];
  decodeSnapshot('tumbling', json, agg).forEachWindow((_key, start, end) => back.push([start, end]));
  return { json, back };
}

describe('window snapshot ends', () => {
  it('are durations while each is a whole number of ms, and the ends themselves from the first that is not', () => {
    const whole = roundTrip([
      [0, 10],
      [60_000, 120_000],
    ]);
    expect(Object.keys(whole.json)).toContain('durations');
    expect(Object.keys(whole.json)).not.toContain('ends');
    expect(whole.back).toEqual([
      [0, 10],
      [60_000, 120_000],
    ]);
    // 2.5 ms, and then 2^32 ms: the earlier windows' ends are written from their durations.
    for (const odd of [2.5, 2 ** 32]) {
      const windows: Array<[number, number]> = [
        [0, 10],
        [20, 30],
        [40, 40 + odd],
        [50, 60],
      ];
      const mixed = roundTrip(windows);
      expect(Object.keys(mixed.json)).toContain('ends');
      expect(Object.keys(mixed.json)).not.toContain('durations');
      expect(mixed.back).toEqual(windows);
    }
  });
});
