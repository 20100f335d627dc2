import { describe, expect, it } from 'vitest';
import { type JsonChunksOptions, jsonChunks } from './json-chunks.ts';

async function text(value: unknown, options?: JsonChunksOptions): Promise<string> {
  let out = '';
  for await (const piece of jsonChunks(value, options)) out += piece;
  return out;
}

describe('jsonChunks', () => {
  it('produces exactly what JSON.stringify produces', async () => {
    const values: unknown[] = [
      null,
      42,
      'a "quoted" \n string',
      [],
      {},
      [1, 'two', null, undefined, { three: [3, { four: 4 }] }],
      { a: 1, skipped: undefined, nested: { deep: { deeper: { deepest: [1, [2, [3]]] } } }, 'odd key "x"': true },
      { date: new Date(0), set: [...new Set(['x', 'y'])] },
      // Runs of flat elements (stringified together) broken by nested ones, longer than one run.
      Array.from({ length: 5_000 }, (_, i) => (i % 7 === 0 ? { n: i, s: 'x', u: undefined } : i % 11 === 0 ? [i, { i }] : i % 13 === 0 ? undefined : i)),
      [{ long: 'y'.repeat(300) }, { date: new Date(0) }, 'z'.repeat(300)],
      // Short arrays of primitives count as flat (a session snapshot's [key, end] pairs); longer or nested ones do not.
      Array.from({ length: 3_000 }, (_, i) => (i % 5 === 0 ? Array.from({ length: 17 }, (_, j) => j) : i % 9 === 0 ? [i, [i]] : [`k${i}`, i, undefined, null])),
      [['x'.repeat(300), 1], [() => 1, Symbol('s')], []],
    ];
    for (const value of values) {
      for (const depth of [0, 1, 2, 10]) expect(await text(value, { depth })).toBe(JSON.stringify(value));
    }
  });

  it('writes what `replace` returns instead of the objects it reaches, telling their paths', async () => {
    class Marker {
      toJSON(): string {
        return 'as JSON';
      }
    }
    const value = {
      a: new Marker(),
      list: [1, { m: new Marker() }, [new Marker()]],
      // In a run of flat elements (a record of primitives) or below the depth: not offered, JSON as usual.
      deep: { deeper: { deepest: { m: new Marker() } } },
    };
    const paths: Array<Array<string | number>> = [];
    const replace = (object: object, path: ReadonlyArray<string | number>): string | undefined => {
      if (!(object instanceof Marker)) return undefined;
      paths.push([...path]);
      return String(paths.length - 1);
    };
    expect(await text(value, { depth: 4, replace })).toBe('{"a":0,"list":[1,{"m":1},[2]],"deep":{"deeper":{"deepest":{"m":"as JSON"}}}}');
    expect(paths).toEqual([['a'], ['list', 1, 'm'], ['list', 2, 0]]);
  });

  it('yields several pieces for a large value, giving the event loop a turn between them', async () => {
    const big = { keys: Array.from({ length: 200_000 }, (_, i) => ({ key: `user-${i}`, windows: [{ start: i, acc: [`u${i}`] }] })) };
    let pieces = 0;
    let turns = 0;
    const ticker = setInterval(() => turns++, 0);
    let out = '';
    for await (const piece of jsonChunks(big, { sliceMs: 2 })) {
      pieces++;
      out += piece;
    }
    clearInterval(ticker);
    expect(out).toBe(JSON.stringify(big));
    expect(pieces).toBeGreaterThan(5);
    expect(turns).toBeGreaterThan(0);
  });
});
