/**
 * Table definitions: the DDL carries the framework's rxa_partition column first in the key, rows
 * get it from the writer, and a table from before partitions is refused with a migration recipe.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createClickHouseClient } from '../../core/clickhouse-client.ts';
import { configFromEnv } from '../../core/config.ts';
import { testId } from '../../test/support/helpers.ts';
import { EncodedRows } from './encoded-rows.ts';
import { ensureTables } from './schema.ts';
import { createTableSql, defineTable } from './table.ts';

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

  it('reserves the column name', () => {
    expect(() => defineTable('t', { columns: { rxa_partition: 'UInt16' }, orderBy: ['rxa_partition'] })).toThrow("'rxa_partition' is reserved");
  });
});

describe('ensureTables', () => {
  const database = `rxa_schema_${testId()}`;
  const client = createClickHouseClient(configFromEnv().clickhouse);

  afterAll(async () => {
    await client.command({ query: `DROP DATABASE IF EXISTS ${database}` });
    await client.close();
  });

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
});
