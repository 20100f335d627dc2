import type { ClickHouseClient } from '@clickhouse/client';
import { createDistributedTableSql, distributedTableName, onClusterSql } from './cluster.ts';
import { quoteIdent, quoteTable, sqlString } from './sql.ts';
import { type AnyTable, PARTITION_COLUMN } from './table.ts';

/**
 * Columns a definition gained after its table was created (the trace columns of the rxa_* tables,
 * core/system-tables.ts) are added to the existing table, each right after the column it follows
 * in the definition: rows are inserted as TabSeparated without a column list, so the table's
 * column order must be the definition's. Existing rows read the type's default ('' for a String).
 *
 * ClickHouse 18.16 has no `ADD COLUMN IF NOT EXISTS`: what a table lacks is read from
 * system.columns first, and an ADD that fails is accepted when the column is there after all (two
 * processes starting at once). With a cluster, the replicated table is altered `ON CLUSTER`
 * (replicated tables apply it through ZooKeeper), and its Distributed `<table>_all` is dropped and
 * created again `ON CLUSTER` with the new columns.
 */
export async function addMissingColumns(client: ClickHouseClient, database: string, tables: readonly AnyTable[], cluster?: string): Promise<void> {
  const targets = tables.flatMap((table) => [
    { table, name: table.name, distributed: false },
    ...(cluster === undefined ? [] : [{ table, name: distributedTableName(table), distributed: true }]),
  ]);
  if (targets.length === 0) return;
  const present = await existingColumns(
    client,
    database,
    targets.map((t) => t.name),
  );
  for (const { table, name, distributed } of targets) {
    const columns = present.get(name);
    if (columns === undefined) continue; // not created: nothing to add to
    const statements = addColumnsSql(table, name, database, columns, cluster);
    if (statements.length === 0) continue;
    if (distributed && cluster !== undefined) {
      // 18.16 refuses ALTER ON CLUSTER for a table that is not replicated on a replicated shard; a
      // Distributed table holds no rows, so it is made again (reads through it fail meanwhile).
      await client.command({ query: `DROP TABLE IF EXISTS ${quoteTable(database, name)}${onClusterSql(cluster)}` });
      await client.command({ query: createDistributedTableSql(table, database, cluster) });
      continue;
    }
    for (const statement of statements) {
      try {
        await client.command({ query: statement.sql });
      } catch (error) {
        const after = await existingColumns(client, database, [name]);
        if (!after.get(name)?.has(statement.column)) throw error;
      }
    }
  }
}

/**
 * The `ALTER TABLE ... ADD COLUMN` statements that give table `name` (the table itself, or its
 * Distributed table) the columns of `table` it lacks, in the definition's order.
 */
export function addColumnsSql(
  table: AnyTable,
  name: string,
  database: string,
  existing: ReadonlySet<string>,
  cluster?: string,
): Array<{ column: string; sql: string }> {
  const statements: Array<{ column: string; sql: string }> = [];
  let previous = PARTITION_COLUMN;
  for (const [column, type] of Object.entries(table.columns)) {
    if (!existing.has(column)) {
      const onCluster = cluster === undefined ? '' : onClusterSql(cluster);
      statements.push({
        column,
        sql: `ALTER TABLE ${quoteTable(database, name)}${onCluster} ADD COLUMN ${quoteIdent(column)} ${type} AFTER ${quoteIdent(previous)}`,
      });
    }
    previous = column;
  }
  return statements;
}

/** The column names of each of `tables` in `database` that exists. */
async function existingColumns(client: ClickHouseClient, database: string, tables: readonly string[]): Promise<Map<string, Set<string>>> {
  const result = await client.query({
    query: `SELECT table, name FROM system.columns WHERE database = ${sqlString(database)} AND table IN (${tables.map(sqlString).join(', ')})`,
    format: 'JSONEachRow',
  });
  const columns = new Map<string, Set<string>>();
  for (const { table, name } of await result.json<{ table: string; name: string }>()) {
    const set = columns.get(table) ?? new Set<string>();
    columns.set(table, set);
    set.add(name);
  }
  return columns;
}
