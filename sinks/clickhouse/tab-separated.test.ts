/**
 * The rows the writer sends: every column type, as TabSeparated lines that ClickHouse 18.16 (the
 * local server) and a current release (chdb) both read back as the values the row held, and that
 * turn back into the row for dead letters.
 */

import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { query as chdbQuery } from 'chdb';
import { beforeAll, describe, expect, it } from 'vitest';
import { useScratchDatabase } from '../../test/support/scratch-database.ts';
import { rowFromTabSeparated, tabSeparatedEncoder } from './tab-separated.ts';
import { createTableSql, defineTable } from './table.ts';

const table = defineTable('every_type', {
  columns: {
    id: 'UInt32',
    s: 'String',
    at: 'DateTime',
    u8: 'UInt8',
    u64: 'UInt64',
    i64: 'Int64',
    f: 'Float64',
    tags: 'Array(String)',
    counts: 'Array(UInt64)',
    ns: 'Nullable(String)',
    nf: 'Nullable(Float64)',
  },
  orderBy: ['id'],
});

const tricky = 'tab\there, newline\nthere, CR\r, backslash \\ and \\N, NUL \0, quote \' and " , é€😀';
const rows: Array<Record<string, unknown>> = [
  { id: 1, s: tricky, at: 1_714_564_800_999, u8: 255, u64: 2 ** 53 - 1, i64: -42, f: 0.1, tags: [tricky, '', "it's"], counts: [0, 7], ns: tricky, nf: -2.5e-7 },
  // Early DateTimes (fewer than 10 digits of seconds), empty arrays, NULLs.
  { id: 2, s: '', at: 60_000, u8: 0, u64: 0, i64: 0, f: 1e300, tags: [], counts: [], ns: null, nf: null },
  // Missing values: the column types' defaults, as ClickHouse fills an omitted JSONEachRow field.
  { id: 3 },
];
/** What ClickHouse holds for `rows`, read back as SELECT reads them (64-bit integers and floats as text: both versions write them alike). */
const stored = [
  {
    id: 1,
    s: tricky,
    at: 1_714_564_800,
    u8: 255,
    u64: String(2 ** 53 - 1),
    i64: '-42',
    f: '0.1',
    tags: [tricky, '', "it's"],
    counts: ['0', '7'],
    ns: tricky,
    nf: -2.5e-7,
  },
  { id: 2, s: '', at: 60, u8: 0, u64: '0', i64: '0', f: '1e300', tags: [], counts: [], ns: null, nf: null },
  { id: 3, s: '', at: 0, u8: 0, u64: '0', i64: '0', f: '0', tags: [], counts: [], ns: null, nf: null },
];
const SELECT =
  'SELECT id, s, toUnixTimestamp(at) AS at, u8, toString(u64) AS u64, toString(i64) AS i64, toString(f) AS f, tags, arrayMap(x -> toString(x), counts) AS counts, ns, nf';

const encode = tabSeparatedEncoder(table, 5);
const body = rows.map((r) => `${encode(r)}\n`).join('');

describe('tabSeparatedEncoder', () => {
  it('writes rxa_partition first, then each column in order, escaped', () => {
    expect(encode(rows[1]!)).toBe('5\t2\t\t0000000060\t0\t0\t0\t1e+300\t[]\t[]\t\\N\t\\N');
    expect(encode({ id: 4, s: 'a\tb\\c', tags: ["x'y"], f: Number.NaN, nf: Number.NEGATIVE_INFINITY })).toBe(
      "5\t4\ta\\tb\\\\c\t0000000000\t0\t0\t0\tnan\t['x\\'y']\t[]\t\\N\t-inf",
    );
  });

  it('writes a value of the wrong type as its text, for the server to reject', () => {
    expect(encode({ id: 'bad\t1', at: 'soon' })).toMatch(/^5\tbad\\t1\t\tsoon\t/);
  });

  it('turns a line back into the row as sent', () => {
    expect(rowFromTabSeparated(table, encode(rows[0]!))).toEqual({ rxa_partition: 5, ...rows[0], at: 1_714_564_800 });
    expect(rowFromTabSeparated(table, encode(rows[2]!))).toEqual({
      rxa_partition: 5,
      id: 3,
      s: '',
      at: 0,
      u8: 0,
      u64: 0,
      i64: 0,
      f: 0,
      tags: [],
      counts: [],
      ns: null,
      nf: null,
    });
    expect(rowFromTabSeparated(table, encode({ id: 'bad-1', f: Number.NaN }))).toMatchObject({ id: 'bad-1', f: 'nan' });
  });
});

describe('TabSeparated rows on ClickHouse 18.16 and current releases', () => {
  const { database, client } = useScratchDatabase('rxa_tsv');

  beforeAll(async () => {
    await client.command({ query: `CREATE DATABASE ${database}` });
    await client.command({ query: createTableSql(table, database) });
  });

  it('are read back as the rows held them on the local server', async () => {
    const { stream } = await client.exec({ query: `INSERT INTO ${database}.every_type FORMAT TabSeparated`, values: Readable.from([Buffer.from(body)]) });
    stream.resume();
    await finished(stream);
    const result = await client.query({ query: `${SELECT}, rxa_partition FROM ${database}.every_type ORDER BY id`, format: 'JSONEachRow' });
    expect(await result.json()).toEqual(stored.map((r) => ({ ...r, rxa_partition: 5 })));
  });

  it('are read back as the rows held them on a current release (chdb)', () => {
    const structure = `rxa_partition UInt16, ${Object.entries(table.columns)
      .map(([name, type]) => `${name} ${type}`)
      .join(', ')}`;
    // The body as a string literal: backslashes and quotes escaped once more for SQL.
    const literal = `'${body.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
    const out = chdbQuery(`${SELECT} FROM format(TabSeparated, '${structure}', ${literal}) ORDER BY id`, 'JSONEachRow');
    const read = out
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(read).toEqual(stored);
  });
});
