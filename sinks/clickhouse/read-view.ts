import type { ClickHouseClient } from '@clickhouse/client';
import { quoteIdent, sqlString } from './sql.ts';
import type { AnyTable } from './table.ts';

/**
 * The view a table is read through, `<table>_current`: FINAL (the latest version of each row) and
 * one row per key across partitions, each column merged by its rule. Dashboards, the live page and
 * users query it by its plain name. Valid on ClickHouse 18.16 and current releases; a filter on a
 * key column reaches the table on current releases (predicate push-down), on 18.16 after FINAL.
 */
export function readViewSelectSql(table: AnyTable, database: string): string {
  const keys = table.orderBy.map(quoteIdent);
  const merged = Object.entries(table.merge).map(([column, rule]) => `${rule}(${quoteIdent(column)}) AS ${quoteIdent(column)}`);
  return `SELECT ${[...keys, ...merged].join(', ')} FROM ${quoteIdent(database)}.${quoteIdent(table.name)} FINAL GROUP BY ${keys.join(', ')}`;
}

export function createReadViewSql(table: AnyTable, database: string): string {
  return `CREATE VIEW IF NOT EXISTS ${quoteIdent(database)}.${quoteIdent(table.current.name)} AS ${readViewSelectSql(table, database)}`;
}

/**
 * Create each table's read view, or replace it when its definition changed (a column or a merge
 * rule): ClickHouse 18.16 has no CREATE OR REPLACE VIEW, so the view is dropped and created, and a
 * query in between fails once. Unchanged views are left alone, so restarts do not flicker.
 * Concurrent starts are safe: the last CREATE IF NOT EXISTS of the same text wins.
 */
export async function ensureReadViews(client: ClickHouseClient, database: string, tables: readonly AnyTable[]): Promise<void> {
  if (tables.length === 0) return;
  const result = await client.query({
    query: `SELECT name, create_table_query FROM system.tables WHERE database = ${sqlString(database)} AND name IN (${tables.map((t) => sqlString(t.current.name)).join(', ')})`,
    format: 'JSONEachRow',
  });
  const existing = new Map((await result.json<{ name: string; create_table_query: string }>()).map((r) => [r.name, r.create_table_query]));
  for (const table of tables) {
    const stored = existing.get(table.current.name);
    if (stored !== undefined && sameSelect(stored, readViewSelectSql(table, database))) continue;
    if (stored !== undefined) await client.command({ query: `DROP TABLE IF EXISTS ${quoteIdent(database)}.${quoteIdent(table.current.name)}` });
    await client.command({ query: createReadViewSql(table, database) });
  }
}

/**
 * Whether the stored view's query is ours. ClickHouse stores it reformatted (quotes dropped, spaces
 * moved, on current releases the database elided), so both sides are reduced to their words; a
 * mismatch only costs a re-creation.
 */
function sameSelect(stored: string, select: string): boolean {
  // `db`.`t` in ours is db.t in the stored query: no space around the dot (18.16 stores it so).
  const words = (sql: string): string =>
    sql
      .replace(/[`\s(),]+/g, ' ')
      .replace(/ ?\. ?/g, '.')
      .trim();
  return words(stored).endsWith(words(select));
}
