import { describe, expect, it } from 'vitest';
import { EncodedRows } from './encoded-rows.ts';
import { defineTable } from './table.ts';

const table = defineTable('lines', { columns: { at: 'DateTime', text: 'String', n: 'UInt32' }, orderBy: ['at'] });

/** Text of every UTF-8 length: ASCII, 2-byte, 3-byte, a surrogate pair (4 bytes), a lone surrogate (U+FFFD once encoded), and characters TabSeparated escapes. */
function text(i: number): string {
  return `${'x'.repeat(i % 97)}é€😀\ud800\t\\${i}`.repeat(1 + (i % 5));
}

/** As the text comes back from UTF-8: a lone surrogate becomes U+FFFD. */
const wellFormed = (s: string): string => s.replace(/\ud800/g, '\ufffd');

describe('EncodedRows', () => {
  it('holds each row as its TabSeparated line, across many buffers, and gives any range back as body slices', () => {
    const batch = EncodedRows.for(table, 3);
    const rows = Array.from({ length: 5_000 }, (_, i) => ({ at: i * 1_000 + 999, text: text(i), n: i }));
    for (const row of rows) batch.push(row);
    const escaped = (s: string): string => s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t');
    const lines = rows.map((r) => `3\t${String(Math.floor(r.at / 1000)).padStart(10, '0')}\t${escaped(wellFormed(r.text))}\t${r.n}`);

    expect(batch.length).toBe(rows.length);
    const body = Buffer.concat(batch.slices());
    expect(body.length).toBe(batch.byteLength);
    expect(body.toString('utf8')).toBe(lines.map((l) => `${l}\n`).join(''));
    expect(batch.slices().length).toBeGreaterThan(2); // the rows did span several buffers
    // Ranges that start and end inside buffers and across their boundaries.
    for (const [start, end] of [
      [0, 1],
      [1, 2],
      [17, 2_345],
      [2_345, 5_000],
      [4_999, 5_000],
      [10, 10],
    ] as const) {
      expect(Buffer.concat(batch.slices(start, end)).toString('utf8'), `${start}..${end}`).toBe(
        lines
          .slice(start, end)
          .map((l) => `${l}\n`)
          .join(''),
      );
    }
    // A line (what a dead letter carries) is the row as sent, as JSON.
    expect(JSON.parse(batch.line(4_321))).toEqual({ rxa_partition: 3, at: 4_321, text: wellFormed(text(4_321)), n: 4_321 });
    expect(batch.decode()[7]).toEqual({ rxa_partition: 3, at: 7, text: wellFormed(text(7)), n: 7 });
  });

  it('starts an empty batch of the same table and partition', () => {
    const batch = EncodedRows.for(table, 2);
    batch.push({ at: 0, text: 'a', n: 1 });
    const next = batch.empty();
    expect(next.length).toBe(0);
    expect(next.slices()).toEqual([]);
    next.push({ at: 5_000, text: 'b', n: 2 });
    expect(next.decode()).toEqual([{ rxa_partition: 2, at: 5, text: 'b', n: 2 }]);
    expect(batch.decode()).toEqual([{ rxa_partition: 2, at: 0, text: 'a', n: 1 }]);
  });

  it('takes a row longer than the largest buffer', () => {
    const batch = EncodedRows.for(table);
    const long = 'é'.repeat(1_500_000);
    batch.push({ at: 0, text: 'short', n: 1 });
    batch.push({ at: 0, text: long, n: 2 });
    batch.push({ at: 0, text: 'after', n: 3 });
    expect(batch.decode().map((r) => (r.text as string).length)).toEqual([5, long.length, 5]);
  });

  it('sizes a long line by its bytes, not by the most it could take: into a shared buffer if it fits one, else one of its own size', () => {
    const batch = EncodedRows.for(table);
    // 40,000 ASCII characters could take 120,000 bytes as UTF-8, more than a buffer; they take ~40,000.
    batch.push({ at: 0, text: 'x'.repeat(40_000), n: 1 });
    batch.push({ at: 0, text: 'y'.repeat(100_000), n: 2 });
    const [first, second] = batch.slices(0, 1).concat(batch.slices(1, 2));
    expect(first?.buffer.byteLength).toBe(65_536);
    expect(second?.byteLength).toBe(batch.byteLength - first!.byteLength);
    expect(second?.buffer.byteLength).toBe(second?.byteLength);
    expect(batch.decode().map((r) => (r.text as string).length)).toEqual([40_000, 100_000]);
  });
});

describe('EncodedRows.release', () => {
  it('empties the batch and hands its buffers to later batches, which hold their own rows intact', () => {
    const first = EncodedRows.for(table);
    for (let i = 0; i < 2_000; i++) first.push({ at: 0, text: text(i), n: i });
    const firstBuffers = first.slices();
    first.release();
    expect(first.length).toBe(0);
    expect(first.slices()).toEqual([]);

    const second = EncodedRows.for(table);
    for (let i = 0; i < 2_000; i++) second.push({ at: 1_000, text: `second ${i}`, n: i });
    // A released buffer was taken again (same memory), and the new rows are what it holds.
    const reused = second.slices().some((slice) => firstBuffers.some((old) => old.buffer === slice.buffer));
    expect(reused).toBe(true);
    expect(second.decode().map((r) => r.text)).toEqual(Array.from({ length: 2_000 }, (_, i) => `second ${i}`));
  });
});
