/**
 * Columns a definition gained are added to a table created before them, in the definition's
 * order, so TabSeparated inserts (no column list) line up; on ClickHouse 18.16 (the server) and a
 * current release (chdb).
 */

import { Session } from 'chdb';
import { describe, expect, it } from 'vitest';
import { useScratchDatabase } from '../../test/support/scratch-database.ts';
import { addColumnsSql, addMissingColumns } from './added-columns.ts';
import { ensureTables } from './schema.ts';
import { createTableSql, defineTable } from './table.ts';
import { ClickHouseWriter } from './writer.ts';

const before = defineTable('letters', {
  columns: { pipeline: 'String', seq: 'UInt64', received_at: 'DateTime' },
  orderBy: ['pipeline', 'seq'],
  partitionByMonth: 'received_at',
});
/** The same table one release later: a column in the middle and two at the end. */
const after = defineTable('letters', {
  columns: { pipeline: 'String', stage: 'String', seq: 'UInt64', received_at: 'DateTime', trace_id: 'String', correlation_id: 'String' },
  orderBy: ['pipeline', 'seq'],
  partitionByMonth: 'received_at',
});

describe('addColumnsSql', () => {
  it('adds each missing column after the one it follows in the definition; on a cluster, ON CLUSTER', () => {
    const existing = new Set(['rxa_partition', 'pipeline', 'seq', 'received_at']);
    expect(addColumnsSql(after, 'letters', 'analytics', existing).map((s) => s.sql)).toEqual([
      'ALTER TABLE `analytics`.`letters` ADD COLUMN `stage` String AFTER `pipeline`',
      'ALTER TABLE `analytics`.`letters` ADD COLUMN `trace_id` String AFTER `received_at`',
      'ALTER TABLE `analytics`.`letters` ADD COLUMN `correlation_id` String AFTER `trace_id`',
    ]);
    // The replicated table; its Distributed table is made again instead (test/clickhouse-cluster.test.ts).
    expect(addColumnsSql(after, 'letters', 'analytics', existing, 'rxa')[0]?.sql).toBe(
      'ALTER TABLE `analytics`.`letters` ON CLUSTER `rxa` ADD COLUMN `stage` String AFTER `pipeline`',
    );
    expect(addColumnsSql(after, 'letters', 'analytics', new Set(['rxa_partition', ...Object.keys(after.columns)]))).toEqual([]);
  });
});

describe('addMissingColumns on ClickHouse 18.16', () => {
  const { database, client } = useScratchDatabase('rxa_added');

  it('gives a table of the earlier definition the new columns, old rows read the default, new rows are written in order', async () => {
    await ensureTables(client, database, [before]);
    await new ClickHouseWriter(client, database).insert(before, [{ pipeline: 'p', seq: 1, received_at: 60_000 }]);
    await ensureTables(client, database, [after]);
    // Two processes starting at once: the second finds the columns there.
    await addMissingColumns(client, database, [after]);
    await ensureTables(client, database, [after]);
    const columns = await (
      await client.query({ query: `SELECT name FROM system.columns WHERE database = '${database}' AND table = 'letters'`, format: 'JSONEachRow' })
    ).json<{ name: string }>();
    expect(columns.map((c) => c.name)).toEqual(['rxa_partition', ...Object.keys(after.columns)]);
    await new ClickHouseWriter(client, database).insert(after, [
      { pipeline: 'p', stage: 'validate', seq: 2, received_at: 120_000, trace_id: '0af7651916cd43dd8448eb211c80319c', correlation_id: 'order-7' },
    ]);
    const rows = await (
      await client.query({
        query: `SELECT seq, stage, trace_id, correlation_id FROM ${database}.letters_current ORDER BY seq`,
        format: 'JSONEachRow',
        clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
      })
    ).json();
    expect(rows).toEqual([
      { seq: 1, stage: '', trace_id: '', correlation_id: '' },
      { seq: 2, stage: 'validate', trace_id: '0af7651916cd43dd8448eb211c80319c', correlation_id: 'order-7' },
    ]);
  });
});

describe('added columns on current ClickHouse (chdb)', () => {
  it('the same statements give the same column order', () => {
    const session = new Session();
    try {
      session.query('CREATE DATABASE analytics');
      session.query(createTableSql(before, 'analytics'));
      const existing = new Set(['rxa_partition', ...Object.keys(before.columns)]);
      for (const { sql } of addColumnsSql(after, 'letters', 'analytics', existing)) session.query(sql);
      const names = session.query("SELECT name FROM system.columns WHERE database = 'analytics' AND table = 'letters' ORDER BY position", 'TSVRaw');
      expect(names.trim().split('\n')).toEqual(['rxa_partition', ...Object.keys(after.columns)]);
      session.query(`INSERT INTO analytics.letters FORMAT TabSeparated 0\tp\tvalidate\t2\t1714564800\tabc\torder-7\n`);
      expect(JSON.parse(session.query('SELECT stage, trace_id, correlation_id FROM analytics.letters', 'JSONEachRow'))).toEqual({
        stage: 'validate',
        trace_id: 'abc',
        correlation_id: 'order-7',
      });
    } finally {
      session.close();
    }
  });
});
