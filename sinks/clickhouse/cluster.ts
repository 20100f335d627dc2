import type { ClickHouseClient } from '@clickhouse/client';
import { errorMessage } from '../../common/error-message.ts';
import { assertSqlIdentifier, quoteIdent, quoteTable, sqlString } from './sql.ts';
import { type AnyTable, columnsSql, tableBodySql } from './table.ts';

/**
 * Tables on a ClickHouse cluster (`RXA_CLICKHOUSE_CLUSTER`), created with `ON CLUSTER` on every
 * host of the cluster, valid on ClickHouse 18.16 and current releases:
 *
 * - `<table>`: a `ReplicatedReplacingMergeTree` (same columns, version and sorting key as the
 *   single-node table), its ZooKeeper path `/clickhouse/tables/{shard}/<database>/<table>` and
 *   replica `{replica}`, macros each server's config defines. The pipeline inserts here, on the
 *   server it is connected to: the insert returns once that replica has the part on disk and in
 *   the replication log, and the other replicas fetch it from there, also after being down. A
 *   retried insert rewrites the same rows (ReplacingMergeTree), or is dropped outright as a
 *   duplicate block.
 * - `<table>_all`: a `Distributed` table over the cluster's `<table>`s, to read through (with
 *   FINAL, as the local table): each shard answered by one healthy replica.
 *
 * Names from config (the cluster) and definitions are identifiers checked before they reach SQL;
 * the cluster, the macros and ZooKeeper are checked on the server before anything is created.
 */

/** The Distributed table's name is the table's with this suffix. */
export const DISTRIBUTED_SUFFIX = '_all';

/** The macros the replicated tables' ZooKeeper path and replica name use. */
export const CLUSTER_MACROS = ['shard', 'replica'] as const;

export function distributedTableName(table: AnyTable): string {
  const name = `${table.name}${DISTRIBUTED_SUFFIX}`;
  assertSqlIdentifier(`table ${table.name}: its Distributed table`, name);
  return name;
}

/** ` ON CLUSTER \`name\``, for DDL that every host of the cluster runs (views over the tables, say). */
export function onClusterSql(cluster: string): string {
  assertSqlIdentifier('the ClickHouse cluster', cluster);
  return ` ON CLUSTER ${quoteIdent(cluster)}`;
}

/** Where a replicated table keeps its replication state in ZooKeeper; `{shard}` expands per host. */
export function zooKeeperPath(table: AnyTable, database: string): string {
  assertSqlIdentifier('the database', database);
  return `/clickhouse/tables/{shard}/${database}/${table.name}`;
}

export function createDatabaseOnClusterSql(database: string, cluster: string): string {
  return `CREATE DATABASE IF NOT EXISTS ${quoteIdent(database)}${onClusterSql(cluster)}`;
}

/** The replicated table, on every host of `cluster`. */
export function createReplicatedTableSql(table: AnyTable, database: string, cluster: string): string {
  const args = [sqlString(zooKeeperPath(table, database)), sqlString('{replica}'), ...(table.version ? [quoteIdent(table.version)] : [])];
  const engine = `ReplicatedReplacingMergeTree(${args.join(', ')})`;
  return `CREATE TABLE IF NOT EXISTS ${quoteTable(database, table.name)}${onClusterSql(cluster)} ${tableBodySql(table, engine)}`;
}

/** The Distributed table over the replicated ones, on every host of `cluster`. */
export function createDistributedTableSql(table: AnyTable, database: string, cluster: string): string {
  const engine = `Distributed(${quoteIdent(cluster)}, ${quoteIdent(database)}, ${quoteIdent(table.name)})`;
  return `CREATE TABLE IF NOT EXISTS ${quoteTable(database, distributedTableName(table))}${onClusterSql(cluster)} ${columnsSql(table)}\nENGINE = ${engine}`;
}

/**
 * Fails, saying what to fix, unless the connected server can create and write replicated tables on
 * `cluster`: the cluster is in its `system.clusters` with this server as one of its hosts, its
 * `system.macros` define `{shard}` and `{replica}`, and it reaches ZooKeeper.
 */
export async function assertClusterReady(client: ClickHouseClient, cluster: string): Promise<void> {
  assertSqlIdentifier('the ClickHouse cluster', cluster);
  const rows = async <T>(query: string): Promise<T[]> => (await client.query({ query, format: 'JSONEachRow' })).json<T>();
  const clusters = await rows<{ cluster: string; local: number }>('SELECT cluster, toUInt8(max(is_local)) AS local FROM system.clusters GROUP BY cluster');
  const found = clusters.find((c) => c.cluster === cluster);
  if (!found) {
    const known = clusters.map((c) => c.cluster).join(', ') || 'none';
    throw new Error(`ClickHouse cluster '${cluster}' is not in this server's system.clusters (<remote_servers> in its config); it has: ${known}`);
  }
  if (Number(found.local) !== 1) {
    throw new Error(`this ClickHouse server is not one of the hosts of cluster '${cluster}': rxa writes to the replicated tables of the server it connects to`);
  }
  const macros = new Set((await rows<{ macro: string }>('SELECT macro FROM system.macros')).map((m) => m.macro));
  const missing = CLUSTER_MACROS.filter((m) => !macros.has(m));
  if (missing.length > 0) {
    throw new Error(
      `ClickHouse cluster '${cluster}': this server defines no macro ${missing.map((m) => `{${m}}`).join(' or ')} (system.macros, <macros> in its config); ` +
        `replicated tables are created at /clickhouse/tables/{shard}/<database>/<table> as replica {replica}`,
    );
  }
  try {
    await rows(`SELECT name FROM system.zookeeper WHERE path = '/' LIMIT 1`);
  } catch (error) {
    throw new Error(`ClickHouse cluster '${cluster}': this server cannot reach ZooKeeper, which replicated tables need: ${errorMessage(error)}`, {
      cause: error,
    });
  }
}

/**
 * Create the database, each table's replicated table and its Distributed table on every host of
 * `cluster`, where the connected server lacks them. Only what is missing is sent: an `ON CLUSTER`
 * query waits for every host, so one with a replica down would hang the start for
 * `distributed_ddl_task_timeout` (180 s) even when there is nothing to create. A table that exists
 * but is not replicated (created without the cluster setting) is refused.
 */
export async function ensureClusterTables(client: ClickHouseClient, database: string, tables: readonly AnyTable[], cluster: string): Promise<void> {
  await assertClusterReady(client, cluster);
  const existing = await client.query({
    query: `SELECT name, engine FROM system.tables WHERE database = ${sqlString(database)}`,
    format: 'JSONEachRow',
  });
  const engines = new Map((await existing.json<{ name: string; engine: string }>()).map((r) => [r.name, r.engine]));
  const databases = await client.query({ query: `SELECT name FROM system.databases WHERE name = ${sqlString(database)}`, format: 'JSONEachRow' });
  if ((await databases.json()).length === 0) await client.command({ query: createDatabaseOnClusterSql(database, cluster) });
  const notReplicated = tables.filter((t) => engines.has(t.name) && !engines.get(t.name)?.startsWith('Replicated'));
  if (notReplicated.length > 0) {
    const list = notReplicated.map((t) => `${database}.${t.name} (${engines.get(t.name)})`).join(', ');
    throw new Error(
      `ClickHouse cluster '${cluster}': ${list} already exist${notReplicated.length === 1 ? 's' : ''} and ${notReplicated.length === 1 ? 'is' : 'are'} not replicated ` +
        `(created without RXA_CLICKHOUSE_CLUSTER); use another database, or move the rows into the replicated tables by hand`,
    );
  }
  for (const table of tables) {
    if (!engines.has(table.name)) await client.command({ query: createReplicatedTableSql(table, database, cluster) });
    if (!engines.has(distributedTableName(table))) await client.command({ query: createDistributedTableSql(table, database, cluster) });
  }
}
