import type { ClickHouseClient } from '@clickhouse/client';
import { addMissingColumns } from './added-columns.ts';
import { ensureClusterTables } from './cluster.ts';
import { ensureReadViews } from './read-view.ts';
import { quoteIdent, quoteTable, sqlString } from './sql.ts';
import { type AnyTable, createTableSql, PARTITION_COLUMN } from './table.ts';

/** Where tables are created: on the connected server, or replicated on a cluster of servers. */
export interface TablePlacement {
  /** Replicated on this cluster, with a Distributed `<table>_all` each (sinks/clickhouse/cluster.ts). */
  cluster?: string | undefined;
}

/**
 * Create the database, the tables if missing, and their read views (sinks/clickhouse/read-view.ts).
 * Existing tables get the columns their definition gained since (sinks/clickhouse/added-columns.ts)
 * and are otherwise left as they are, except that one without `rxa_partition` first in its sorting
 * key fails here: its rows would collide across partitions (tables created before partitioning
 * existed). The error says how to migrate it.
 * With `placement.cluster`, they are created replicated on that cluster (see cluster.ts).
 */
export async function ensureTables(client: ClickHouseClient, database: string, tables: readonly AnyTable[], placement: TablePlacement = {}): Promise<void> {
  if (placement.cluster !== undefined) {
    await ensureClusterTables(client, database, tables, placement.cluster);
  } else {
    await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${quoteIdent(database)}` });
    for (const table of tables) await client.command({ query: createTableSql(table, database) });
  }
  if (tables.length === 0) return;
  const result = await client.query({
    query: `SELECT name, sorting_key FROM system.tables WHERE database = ${sqlString(database)} AND name IN (${tables.map((t) => sqlString(t.name)).join(', ')})`,
    format: 'JSONEachRow',
  });
  const keys = new Map((await result.json<{ name: string; sorting_key: string }>()).map((r) => [r.name, r.sorting_key]));
  const outdated = tables.filter((t) => keys.get(t.name)?.split(',')[0]?.trim() !== PARTITION_COLUMN);
  if (outdated.length > 0) throw new Error(outdatedTablesMessage(database, outdated));
  await addMissingColumns(client, database, tables, placement.cluster);
  await ensureReadViews(client, database, tables, placement.cluster);
}

function outdatedTablesMessage(database: string, tables: readonly AnyTable[]): string {
  const lines = [
    `${tables.length === 1 ? 'table' : 'tables'} ${tables.map((t) => `${database}.${t.name}`).join(', ')} ` +
      `${tables.length === 1 ? 'has' : 'have'} no '${PARTITION_COLUMN}' column first in the sorting key: created by an rxa ` +
      `version before partitioned pipelines (see docs/partitions.md). Either`,
    `- rebuild: DROP the tables and \`rxa reset <pipeline>\`: the pipeline reprocesses the stream (needed for a pipeline that is now partitioned), or`,
    `- keep the rows as partition 0 (for a pipeline that stays unpartitioned, and for the rxa_* tables), per table:`,
  ];
  for (const table of tables) {
    // Not through quoteIdent: the suffix may pass its 63-character limit; the name is validated and the suffix fixed.
    const old = `\`${database}\`.\`${table.name}_unpartitioned\``;
    const columns = Object.keys(table.columns).map(quoteIdent).join(', ');
    lines.push(
      `    RENAME TABLE ${quoteTable(database, table.name)} TO ${old};`,
      `    ${createTableSql(table, database).replace(/\n\s*/g, ' ')};`,
      `    INSERT INTO ${quoteTable(database, table.name)} (${quoteIdent(PARTITION_COLUMN)}, ${columns}) SELECT 0, ${columns} FROM ${old};`,
    );
  }
  return lines.join('\n');
}
