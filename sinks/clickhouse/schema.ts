import type { ClickHouseClient } from '@clickhouse/client';
import { quoteIdent } from '../../core/identifiers.ts';
import { type AnyTable, createTableSql } from './table.ts';

/** Create the database and the tables if missing. Existing tables are left as they are. */
export async function ensureTables(client: ClickHouseClient, database: string, tables: readonly AnyTable[]): Promise<void> {
  await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${quoteIdent(database)}` });
  for (const table of tables) await client.command({ query: createTableSql(table, database) });
}
