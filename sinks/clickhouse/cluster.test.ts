/**
 * The cluster DDL as generated (pinned), and the names that are refused before they reach SQL. It
 * runs on 18.16 replicas and on chdb in test/clickhouse-cluster.test.ts, which has a ZooKeeper.
 */
import { describe, expect, it } from 'vitest';
import { createDistributedTableSql, createReplicatedTableSql, distributedTableName } from './cluster.ts';
import { createReadViewSql } from './read-view.ts';
import { defineTable } from './table.ts';

const views = defineTable('page_views', {
  columns: { window_start: 'DateTime', url: 'String', views: 'UInt64', version: 'UInt64' },
  orderBy: ['window_start', 'url'],
  version: 'version',
  partitionByMonth: 'window_start',
});
const pages = defineTable('pages', { columns: { path: 'String', category: 'String' }, orderBy: ['path'] });

describe('cluster DDL', () => {
  it('creates the replicated table on every host, its ZooKeeper path from {shard}, database and table, the replica {replica}', () => {
    expect(createReplicatedTableSql(views, 'analytics', 'main')).toMatchInlineSnapshot(`
      "CREATE TABLE IF NOT EXISTS \`analytics\`.\`page_views\` ON CLUSTER \`main\` (
        \`rxa_partition\` UInt16,
        \`window_start\` DateTime,
        \`url\` String,
        \`views\` UInt64,
        \`version\` UInt64
      )
      ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/analytics/page_views', '{replica}', \`version\`)
      PARTITION BY toYYYYMM(\`window_start\`)
      ORDER BY (\`rxa_partition\`, \`window_start\`, \`url\`)"
    `);
    expect(createReplicatedTableSql(pages, 'analytics', 'main')).toContain(
      "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/analytics/pages', '{replica}')\n",
    );
  });

  it('reads through a Distributed <table>_all and a read view over it', () => {
    expect(createDistributedTableSql(views, 'analytics', 'main')).toMatchInlineSnapshot(`
      "CREATE TABLE IF NOT EXISTS \`analytics\`.\`page_views_all\` ON CLUSTER \`main\` (
        \`rxa_partition\` UInt16,
        \`window_start\` DateTime,
        \`url\` String,
        \`views\` UInt64,
        \`version\` UInt64
      )
      ENGINE = Distributed(\`main\`, \`analytics\`, \`page_views\`)"
    `);
    expect(createReadViewSql(views, 'analytics', 'main')).toMatchInlineSnapshot(
      `"CREATE VIEW IF NOT EXISTS \`analytics\`.\`page_views_current\` ON CLUSTER \`main\` AS SELECT \`window_start\`, \`url\`, sum(\`views\`) AS \`views\`, sum(\`version\`) AS \`version\` FROM \`analytics\`.\`page_views_all\` FINAL GROUP BY \`window_start\`, \`url\`"`,
    );
  });

  it('refuses a cluster or database that is not an identifier, and a table whose <table>_all would not be one', () => {
    expect(() => createReplicatedTableSql(views, 'analytics', "main' OR 1")).toThrow(`the ClickHouse cluster "main' OR 1" must be a SQL identifier`);
    expect(() => createReplicatedTableSql(views, 'an/alytics', 'main')).toThrow('the database "an/alytics" must be a SQL identifier');
    // defineTable keeps names short enough for `<table>_current`, so this takes a table made by hand.
    const long = { ...pages, name: 't'.repeat(61) };
    expect(() => distributedTableName(long)).toThrow(`table ${long.name}: its Distributed table "${long.name}_all" must be a SQL identifier`);
  });
});
