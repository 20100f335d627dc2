import { describe, expect, it } from 'vitest';
import { TypedColumn } from '../state/typed-columns.ts';
import { checkLaws, type Ev, events } from '../test/support/aggregator-laws.ts';
import { distinct } from './distinct.ts';

/** A snapshot's column as its array (snapshots hold `TypedColumn`s until they are encoded). */
function columnOf<A extends Uint32Array | Float64Array>(json: unknown, name: string, make: (b: ArrayBufferLike) => A): A {
  const column = (json as Record<string, unknown>)[name];
  if (!(column instanceof TypedColumn)) throw new Error(`${name} is not a column`);
  const bytes = column.bytes();
  return make(bytes.slice().buffer);
}

describe('distinct', () => {
  it('distinct counts exact distinct values, skipping undefined, keeping 1 and "1" apart', () => {
    expect(
      checkLaws(
        distinct((e: Ev) => e.user),
        events,
      ),
    ).toBe(3);
    expect(
      checkLaws(
        distinct((e: Ev) => e.page),
        events,
      ),
    ).toBe(3);
    const mixed = distinct((v: string | number) => v);
    expect(checkLaws(mixed, [1, '1', 1, 2])).toBe(3);
  });

  it('distinct refuses a state that is not its fingerprints (the values themselves came from format-1 checkpoints)', () => {
    const users = distinct((e: Ev) => e.user);
    expect(() => users.fromJSON({ fingerprints: 'AAAA' })).toThrow(/truncated/);
    expect(() => users.fromJSON(['a', 'b'])).toThrow(/expected \{ fingerprints \}/);
    expect(() => users.fromJSON([{}])).toThrow(/expected/);
  });

  describe('over hopping windows (panes)', () => {
    const span = 3;
    const users = distinct((u: string) => u).panes!;
    /** Per [pane, from, to]: users `u<from>` .. `u<to - 1>` seen in that pane. */
    const see = (panes: ReturnType<typeof users.create>, ...sightings: Array<[number, number, number]>) => {
      for (const [pane, from, to] of sightings) for (let i = from; i < to; i++) panes.add(pane, pane - span + 1, `u${i}`);
    };

    it('a snapshot keeps the values of panes nothing touched where they were, whatever slots freed values left', () => {
      const panes = users.create(span);
      // Values of pane 0 are freed once pane 3 opens (windows before 1 closed), and pane 3's new values take their slots.
      see(panes, [0, 0, 500], [1, 500, 1000], [2, 1000, 1500]);
      panes.forget(1);
      const before = panes.toJSON();
      see(panes, [3, 1500, 1800], [3, 1400, 1450]); // the second: seen again, moved from pane 2's group to pane 3's
      const after = panes.toJSON();
      const u32 = (b: ArrayBufferLike) => new Uint32Array(b);
      const f64 = (b: ArrayBufferLike) => new Float64Array(b);
      expect([...columnOf(before, 'latestPanes', f64)]).toEqual([1, 500, 2, 500]);
      expect([...columnOf(after, 'latestPanes', f64)]).toEqual([1, 500, 2, 450, 3, 350]);
      // Pane 1's values, untouched, are the same bytes at the same place.
      expect(columnOf(after, 'values', u32).subarray(0, 3 * 500)).toEqual(columnOf(before, 'values', u32).subarray(0, 3 * 500));
      for (let w = 1; w <= 3; w++) expect(users.restore(JSON.parse(JSON.stringify(after)), span).result(w)).toBe(panes.result(w));
    });

    it('restores the layout of builds before grouping (a column each, in slot order) and goes on as if never stopped', () => {
      const live = users.create(span);
      see(live, [0, 0, 300], [1, 200, 600], [2, 100, 400]);
      live.forget(1);
      // The same state as an earlier build wrote it.
      const json = live.toJSON();
      const values = columnOf(json, 'values', (b) => new Uint32Array(b));
      const groups = columnOf(json, 'latestPanes', (b) => new Float64Array(b));
      const latest: number[] = [];
      for (let g = 0; g < groups.length; g += 2) for (let n = 0; n < groups[g + 1]!; n++) latest.push(groups[g]!);
      const older = {
        fingerprints: new TypedColumn(new Uint32Array(latest.flatMap((_, i) => [values[3 * i]!, values[3 * i + 1]!]))),
        latest: new TypedColumn(new Float64Array(latest)),
        masks: new TypedColumn(new Uint32Array(latest.map((_, i) => values[3 * i + 2]!))),
        counts: (json as Record<string, unknown>).counts,
        forgotten: 1,
      };
      const restored = users.restore(JSON.parse(JSON.stringify(older)), span);
      for (const panes of [live, restored]) {
        see(panes, [3, 350, 700]);
        panes.forget(2);
      }
      for (let w = 0; w <= 4; w++) expect(restored.result(w)).toBe(live.result(w));
      expect(live.result(2)).toBe(600); // window 2 (panes 2-4): u100..u399 and u350..u699
    });

    it('groups values whose latest panes lie far apart (an event far ahead) as well', () => {
      const panes = users.create(span);
      see(panes, [0, 0, 3], [1, 2, 4], [500, 3, 5]);
      const json = panes.toJSON();
      expect([...columnOf(json, 'latestPanes', (b) => new Float64Array(b))]).toEqual([0, 2, 1, 1, 500, 2]);
      const restored = users.restore(JSON.parse(JSON.stringify(json)), span);
      for (const w of [-1, 0, 1, 498, 499, 500]) expect(restored.result(w)).toBe(panes.result(w));
    });

    it('refuses grouped values whose groups do not add up', () => {
      const panes = users.create(span);
      see(panes, [0, 0, 10]);
      const json = JSON.parse(JSON.stringify(panes.toJSON()));
      json.latestPanes = new TypedColumn(new Float64Array([0, 11])).toJSON();
      expect(() => users.restore(json, span)).toThrow(/counts more values/);
      json.latestPanes = new TypedColumn(new Float64Array([0, 9])).toJSON();
      expect(() => users.restore(json, span)).toThrow(/counts fewer values/);
    });
  });
});
