/**
 * The writer against the real ClickHouse: rows the server rejects are isolated by bisection and
 * returned for the dead-letter path, every other row of the batch is written.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { useScratchDatabase } from '../../test/support/scratch-database.ts';
import { defineTable } from './table.ts';
import { ClickHouseWriter, clickHouseErrorCode, isDataError } from './writer.ts';

const { database, client } = useScratchDatabase('rxa_writer');
const table = defineTable('numbers', { columns: { id: 'String', n: 'UInt32' }, orderBy: ['id'] });

beforeAll(async () => {
  await client.command({ query: `CREATE DATABASE ${database}` });
  // Created by hand with the same columns (and the framework's rxa_partition); the writer's rows below break the column type on purpose.
  await client.command({
    query: `CREATE TABLE ${database}.numbers (rxa_partition UInt16, id String, n UInt32) ENGINE = ReplacingMergeTree() ORDER BY (rxa_partition, id)`,
  });
});

describe('ClickHouseWriter', () => {
  it('bisects a batch to dead-letter exactly the rows the server rejects', async () => {
    const writer = new ClickHouseWriter(client, database);
    const rows = Array.from({ length: 100 }, (_, i) => ({ id: `r${i}`, n: i === 13 || i === 77 ? `bad-${i}` : i }));
    const result = await writer.insert(table, rows);
    const { rejected } = result;
    expect({ written: result.written, rejected: rejected.length }).toEqual({ written: 98, rejected: 2 });
    expect(rejected.map((r) => r.table)).toEqual(['numbers', 'numbers']);
    // As sent: the JSON line, with the framework's rxa_partition.
    expect(rejected.map((r) => r.line)).toEqual(['{"rxa_partition":0,"id":"r13","n":"bad-13"}', '{"rxa_partition":0,"id":"r77","n":"bad-77"}']);
    expect(rejected[0]?.reason).toMatch(/bad-13|parse|Cannot/i);
    const [count] = await (await client.query({ query: `SELECT count() AS c FROM ${database}.numbers FINAL`, format: 'JSONEachRow' })).json<{
      c: string | number;
    }>();
    expect(Number(count?.c)).toBe(98);
  });

  it('reads error codes in both the current and the 18.16 format', () => {
    expect(clickHouseErrorCode(new Error('Code: 27, e.displayText() = DB::Exception: Cannot parse input'))).toBe('27');
    expect(clickHouseErrorCode(new Error('Code: 27. DB::Exception: Cannot parse input'))).toBe('27');
    expect(clickHouseErrorCode(new Error('connect ECONNREFUSED 127.0.0.1:8123'))).toBeUndefined();
    expect(isDataError(new Error('Code: 241, e.displayText() = DB::Exception: Memory limit exceeded'))).toBe(false);
  });
});
