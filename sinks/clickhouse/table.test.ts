/**
 * Table definitions: the DDL carries the framework's rxa_partition column first in the key, rows
 * get it from the writer, and a table from before partitions is refused with a migration recipe.
 */

import { Session } from 'chdb';
import { describe, expect, it } from 'vitest';
import { useScratchDatabase } from '../../test/support/scratch-database.ts';
import { EncodedRows } from './encoded-rows.ts';
import { createReadViewSql, readViewIsCurrent } from './read-view.ts';
import { ensureTables } from './schema.ts';
import { createTableSql, defineTable } from './table.ts';
import { ClickHouseWriter } from './writer.ts';

const views = defineTable('page_views', {
  columns: { window_start: 'DateTime', url: 'String', views: 'UInt64', version: 'UInt64' },
  orderBy: ['window_start', 'url'],
  version: 'version',
  partitionByMonth: 'window_start',
});

describe('defineTable', () => {
  it('puts rxa_partition first in the columns and the sorting key', () => {
    expect(createTableSql(views, 'analytics')).toMatchInlineSnapshot(`
      "CREATE TABLE IF NOT EXISTS \`analytics\`.\`page_views\` (
        \`rxa_partition\` UInt16,
        \`window_start\` DateTime,
        \`url\` String,
        \`views\` UInt64,
        \`version\` UInt64
      )
      ENGINE = ReplacingMergeTree(\`version\`)
      PARTITION BY toYYYYMM(\`window_start\`)
      ORDER BY (\`rxa_partition\`, \`window_start\`, \`url\`)"
    `);
  });

  it('fills rxa_partition when encoding rows; the row type does not have it', () => {
    const row = { window_start: 1_714_564_800_000, url: '/', views: 3, version: 3 };
    const encoded = (partition?: number): Record<string, unknown>[] => {
      const batch = EncodedRows.for(views, partition);
      batch.push(row);
      return batch.decode();
    };
    expect(encoded()).toEqual([{ rxa_partition: 0, window_start: 1_714_564_800, url: '/', views: 3, version: 3 }]);
    expect(encoded(7)).toMatchObject([{ rxa_partition: 7 }]);
    expect(row).not.toHaveProperty('rxa_partition');
  });

  it('merges each non-key column by its rule in the read view: sum for numbers, any for the rest, unless declared', () => {
    expect(views.merge).toEqual({ views: 'sum', version: 'sum' });
    const pages = defineTable('pages', {
      columns: { url: 'String', category: 'String', p99_ms: 'Float64', last_seen: 'DateTime' },
      orderBy: ['url'],
      merge: { p99_ms: 'max', last_seen: 'max' },
    });
    expect(pages.merge).toEqual({ category: 'any', p99_ms: 'max', last_seen: 'max' });
    expect(createReadViewSql(views, 'analytics')).toBe(
      'CREATE VIEW IF NOT EXISTS `analytics`.`page_views_current` AS SELECT `window_start`, `url`, sum(`views`) AS `views`, sum(`version`) AS `version` ' +
        'FROM `analytics`.`page_views` FINAL GROUP BY `window_start`, `url`',
    );
  });

  it('refuses merge rules that cannot apply, naming the table and the column', () => {
    const columns = { k: 'String', label: 'String', n: 'UInt64' } as const;
    expect(() => defineTable('t', { columns, orderBy: ['k'], merge: { label: 'sum' } })).toThrow(
      "table t: merge rule 'sum' for 'label' (String): sum takes a numeric column",
    );
    expect(() => defineTable('t', { columns, orderBy: ['k'], merge: { k: 'max' } })).toThrow("table t: 'k' is in orderBy");
    // @ts-expect-error: not a column
    expect(() => defineTable('t', { columns, orderBy: ['k'], merge: { nope: 'max' } })).toThrow("merge rule for 'nope', which is not a declared column");
    // @ts-expect-error: not a rule
    expect(() => defineTable('t', { columns, orderBy: ['k'], merge: { n: 'avg' } })).toThrow('unknown merge rule "avg" for \'n\'');
    expect(() => defineTable('t'.repeat(56), { columns, orderBy: ['k'] })).toThrow('its read view');
  });

  it('reserves the column name', () => {
    expect(() => defineTable('t', { columns: { rxa_partition: 'UInt16' }, orderBy: ['rxa_partition'] })).toThrow("'rxa_partition' is reserved");
  });
});

describe('ensureTables', () => {
  const { database, client } = useScratchDatabase('rxa_schema');

  it('creates tables, accepts its own, and refuses one without rxa_partition with a way to migrate it', async () => {
    await ensureTables(client, database, [views]);
    await ensureTables(client, database, [views]);
    // As created before partitions existed.
    const old = defineTable('old_views', { columns: { window_start: 'DateTime', url: 'String' }, orderBy: ['window_start', 'url'] });
    await client.command({
      query: `CREATE TABLE ${database}.old_views (window_start DateTime, url String) ENGINE = ReplacingMergeTree() ORDER BY (window_start, url)`,
    });
    await client.insert({ table: `${database}.old_views`, values: [{ window_start: 60, url: '/' }], format: 'JSONEachRow' });
    const error = await ensureTables(client, database, [views, old]).catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(Error);
    const message = (error as Error).message;
    expect(message).toContain(`${database}.old_views has no 'rxa_partition' column first in the sorting key`);
    expect(message).not.toContain(`${database}.page_views,`);

    // The recipe in the message works as printed, and keeps the rows (as partition 0).
    const statements = message
      .split('\n')
      .filter((l) => l.startsWith('    '))
      .map((l) => l.trim().replace(/;$/, ''));
    expect(statements).toHaveLength(3);
    for (const query of statements) await client.command({ query });
    await ensureTables(client, database, [views, old]);
    const rows = await (await client.query({ query: `SELECT rxa_partition, url FROM ${database}.old_views`, format: 'JSONEachRow' })).json();
    expect(rows).toEqual([{ rxa_partition: 0, url: '/' }]);
  });

  it('reads through <table>_current: the latest version, partitions merged; the view follows the definition', async () => {
    const counts = defineTable('counts', {
      columns: { minute: 'DateTime', url: 'String', category: 'String', views: 'UInt64', slowest_ms: 'Float64', version: 'UInt64' },
      orderBy: ['minute', 'url'],
      version: 'version',
      merge: { slowest_ms: 'max' },
    });
    await ensureTables(client, database, [counts]);
    const writer = new ClickHouseWriter(client, database);
    const write = async (partition: number, rows: Array<(typeof counts)['$row'] & object>): Promise<void> => {
      const batch = EncodedRows.for(counts, partition);
      for (const row of rows) batch.push(row);
      expect(await writer.write(batch)).toMatchObject({ written: rows.length });
    };
    const minute = Date.UTC(2024, 4, 1, 12, 0);
    // Partition 0: an early partial row, then the complete one; partition 1: its own row for the same key.
    await write(0, [{ minute, url: '/a', category: 'home', views: 2, slowest_ms: 40, version: 2 }]);
    await write(0, [{ minute, url: '/a', category: 'home', views: 5, slowest_ms: 90, version: 5 }]);
    await write(1, [
      { minute, url: '/a', category: 'home', views: 3, slowest_ms: 120, version: 3 },
      { minute, url: '/b', category: 'shop', views: 1, slowest_ms: 10, version: 1 },
    ]);
    const read = async (query: string): Promise<unknown[]> =>
      (await client.query({ query, format: 'JSONEachRow', clickhouse_settings: { output_format_json_quote_64bit_integers: 0 } })).json();
    const viewRows = `SELECT url, category, views, slowest_ms, version FROM ${database}.counts_current ORDER BY url`;
    expect(await read(viewRows)).toEqual([
      { url: '/a', category: 'home', views: 8, slowest_ms: 120, version: 8 },
      { url: '/b', category: 'shop', views: 1, slowest_ms: 10, version: 1 },
    ]);

    // As stored, the view is recognised as current (so a restart leaves it alone), and not for another rule.
    const [stored] = (await read(`SELECT create_table_query AS q FROM system.tables WHERE database = '${database}' AND name = 'counts_current'`)) as Array<{
      q: string;
    }>;
    expect(readViewIsCurrent(stored!.q, counts, database)).toBe(true);
    expect(readViewIsCurrent(stored!.q, defineTable('counts', { ...counts, merge: { slowest_ms: 'min' } }), database)).toBe(false);
    // A changed rule replaces the view.
    await ensureTables(client, database, [defineTable('counts', { ...counts, merge: { slowest_ms: 'min' } })]);
    expect(await read(`SELECT url, slowest_ms FROM ${database}.counts_current ORDER BY url`)).toEqual([
      { url: '/a', slowest_ms: 90 },
      { url: '/b', slowest_ms: 10 },
    ]);
  });
});

describe('read views on current ClickHouse (chdb)', () => {
  it('are created from the same SQL and merge the same way', () => {
    const session = new Session();
    try {
      session.query('CREATE DATABASE analytics');
      session.query(createTableSql(views, 'analytics'));
      session.query(createReadViewSql(views, 'analytics'));
      const stored = session.query("SELECT create_table_query FROM system.tables WHERE database = 'analytics' AND name = 'page_views_current'", 'TSVRaw');
      expect(readViewIsCurrent(stored.trim(), views, 'analytics')).toBe(true);
      expect(readViewIsCurrent(stored.trim(), defineTable('page_views', { ...views, merge: { views: 'max' } }), 'analytics')).toBe(false);
      session.query(
        "INSERT INTO analytics.page_views VALUES (0, '2024-05-01 12:00:00', '/', 2, 2), (0, '2024-05-01 12:00:00', '/', 4, 4), (1, '2024-05-01 12:00:00', '/', 3, 3)",
      );
      expect(JSON.parse(session.query('SELECT url, views, version FROM analytics.page_views_current', 'JSONEachRow'))).toEqual({
        url: '/',
        views: 7,
        version: 7,
      });
    } finally {
      session.close();
    }
  });
});
