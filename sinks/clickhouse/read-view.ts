import type { ClickHouseClient } from '@clickhouse/client';
import { distributedTableName, onClusterSql } from './cluster.ts';
import { quoteIdent, quoteTable, sqlString } from './sql.ts';
import type { AnyTable } from './table.ts';

/**
 * The view a table is read through, `<table>_current`: FINAL (the latest version of each row) and
 * one row per key across partitions, each column merged by its rule. Dashboards, the live page and
 * users query it by its plain name. Valid on ClickHouse 18.16 and current releases; a filter on a
 * key column reaches the table on current releases (predicate push-down), on 18.16 after FINAL.
 * With `cluster` (sinks/clickhouse/cluster.ts), the view is on every host and reads the
 * Distributed `<table>_all`.
 */
export function readViewSelectSql(table: AnyTable, database: string, cluster?: string): string {
  const keys = table.orderBy.map(quoteIdent);
  const merged = Object.entries(table.merge).map(([column, rule]) => `${rule}(${quoteIdent(column)}) AS ${quoteIdent(column)}`);
  const source = cluster === undefined ? table.name : distributedTableName(table);
  return `SELECT ${[...keys, ...merged].join(', ')} FROM ${quoteTable(database, source)} FINAL GROUP BY ${keys.join(', ')}`;
}

export function createReadViewSql(table: AnyTable, database: string, cluster?: string): string {
  const onCluster = cluster === undefined ? '' : onClusterSql(cluster);
  return `CREATE VIEW IF NOT EXISTS ${quoteTable(database, table.current.name)}${onCluster} AS ${readViewSelectSql(table, database, cluster)}`;
}

/**
 * Create each table's read view, or replace it when its definition changed (a column or a merge
 * rule): ClickHouse 18.16 has no CREATE OR REPLACE VIEW, so the view is dropped and created, and a
 * query in between fails once. Unchanged views are left alone, so restarts do not flicker.
 * Concurrent starts are safe: the last CREATE IF NOT EXISTS of the same text wins.
 */
export async function ensureReadViews(client: ClickHouseClient, database: string, tables: readonly AnyTable[], cluster?: string): Promise<void> {
  if (tables.length === 0) return;
  const result = await client.query({
    query: `SELECT name, create_table_query FROM system.tables WHERE database = ${sqlString(database)} AND name IN (${tables.map((t) => sqlString(t.current.name)).join(', ')})`,
    format: 'JSONEachRow',
  });
  const existing = new Map((await result.json<{ name: string; create_table_query: string }>()).map((r) => [r.name, r.create_table_query]));
  for (const table of tables) {
    const stored = existing.get(table.current.name);
    if (stored !== undefined && readViewIsCurrent(stored, table, database, cluster)) continue;
    const onCluster = cluster === undefined ? '' : onClusterSql(cluster);
    if (stored !== undefined) await client.command({ query: `DROP TABLE IF EXISTS ${quoteTable(database, table.current.name)}${onCluster}` });
    await client.command({ query: createReadViewSql(table, database, cluster) });
  }
}

/**
 * Whether a view's stored query (`system.tables.create_table_query`) is the one `table` needs now.
 * ClickHouse stores it reformatted (quotes dropped, spaces moved; 18.16 writes `db.table`
 * unquoted, current releases may leave the database out), so both sides lose the database
 * qualifier and are reduced to their words; a mismatch costs a re-creation, which with a cluster
 * waits for every host.
 */
export function readViewIsCurrent(stored: string, table: AnyTable, database: string, cluster?: string): boolean {
  const words = (sql: string): string =>
    sql
      .replaceAll(`\`${database}\`.`, '')
      .replaceAll(`${database}.`, '')
      .replace(/[`\s(),.]+/g, ' ')
      .trim();
  return words(stored).endsWith(words(readViewSelectSql(table, database, cluster)));
}
