/**
 * Replicated ClickHouse: a pipeline with RXA_CLICKHOUSE_CLUSTER writes through one replica of a
 * two-replica cluster of the test's own (test/support/clickhouse-cluster.ts: ZooKeeper and two
 * ClickHouse 18.16 servers on their own ports). Mid-run the other replica is killed, then the one
 * written through; each comes back. The totals are exact on both replicas, and both return the same
 * rows for every table. The DDL also runs on a current ClickHouse (chdb) against the same ZooKeeper.
 * Columns a definition gained are added to the replicated tables and their Distributed tables.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { Session } from 'chdb';
import { afterAll, describe, expect, it } from 'vitest';
import { createClickHouseClient } from '../core/clickhouse-client.ts';
import type { RuntimeConfig } from '../core/config.ts';
import { systemTables } from '../core/system-tables.ts';
import type { GeneratedMessage } from '../generator/messages.ts';
import { clickstreamTables, pagesTable } from '../pipelines/clickstream-tables.ts';
import {
  assertClusterReady,
  createDatabaseOnClusterSql,
  createDistributedTableSql,
  createReplicatedTableSql,
  distributedTableName,
  onClusterSql,
} from '../sinks/clickhouse/cluster.ts';
import { createReadViewSql } from '../sinks/clickhouse/read-view.ts';
import { ensureTables } from '../sinks/clickhouse/schema.ts';
import { quoteIdent, quoteTable, sqlString } from '../sinks/clickhouse/sql.ts';
import { type AnyTable, defineTable, PARTITION_COLUMN } from '../sinks/clickhouse/table.ts';
import { ClickHouseWriter } from '../sinks/clickhouse/writer.ts';
import { CLUSTER_NAME, useClickHouseCluster } from './support/clickhouse-cluster.ts';
import { clickstreamInput, publishInput } from './support/clickstream-input.ts';
import { waitFor } from './support/helpers.ts';
import { expectClickstreamExact } from './support/read-clickstream.ts';
import { useTestServers } from './support/test-servers.ts';
import { startClickstream, type WatchedRunner } from './support/watched-runner.ts';

const servers = useTestServers('chcluster');
const replicated = useClickHouseCluster();
const tables: AnyTable[] = [...Object.values(clickstreamTables), pagesTable, ...systemTables];
const clients: ClickHouseClient[] = [];

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
});

/** The pipeline's config: NATS as every test, ClickHouse the cluster's replica `i`. */
function clusterConfig(i: number): RuntimeConfig {
  const replica = replicated.cluster.replicas[i]!;
  return { ...servers.config, clickhouse: { ...servers.config.clickhouse, url: replica.url, cluster: CLUSTER_NAME } };
}

function clientOf(i: number, database?: string): ClickHouseClient {
  const client = createClickHouseClient(clusterConfig(i).clickhouse, database);
  clients.push(client);
  return client;
}

/** Every row of `table` (FINAL), in sorting key order, hashed: equal on two replicas iff they return the same rows. */
async function contentOf(client: ClickHouseClient, table: AnyTable): Promise<{ rows: number; sha256: string }> {
  const key = [PARTITION_COLUMN, ...table.orderBy].map(quoteIdent).join(', ');
  const result = await client.query({ query: `SELECT * FROM ${quoteIdent(table.name)} FINAL ORDER BY ${key}`, format: 'TabSeparated' });
  const text = await result.text();
  return { rows: text === '' ? 0 : text.split('\n').length - 1, sha256: createHash('sha256').update(text).digest('hex') };
}

async function countThroughDistributed(client: ClickHouseClient, table: AnyTable): Promise<number> {
  const result = await client.query({ query: `SELECT count() AS n FROM ${quoteIdent(distributedTableName(table))} FINAL`, format: 'JSONEachRow' });
  return Number((await result.json<{ n: number | string }>())[0]?.n);
}

/** Rejects when `promise` takes longer than `ms`: what must not wait for a stopped replica. */
function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

describe('replicated ClickHouse', () => {
  it('refuses a cluster the server lacks, and a server without the macros the tables need', async () => {
    const replica = clientOf(0);
    await expect(assertClusterReady(replica, 'no_such_cluster')).rejects.toThrow(
      `ClickHouse cluster 'no_such_cluster' is not in this server's system.clusters (<remote_servers> in its config); it has: `,
    );
    await expect(ensureTables(replica, servers.database, tables, { cluster: 'bad-name' })).rejects.toThrow(
      'the ClickHouse cluster "bad-name" must be a SQL identifier',
    );
    // The shared single server: its stock config's test_shard_localhost names it, and it has no macros (read-only queries).
    await expect(assertClusterReady(servers.ch, 'test_shard_localhost')).rejects.toThrow(
      "ClickHouse cluster 'test_shard_localhost': this server defines no macro {shard} or {replica}",
    );
  });

  it('writes through one replica while either is down, fails over to the other, and both end with the same, exact rows', async () => {
    const { names, database } = servers;
    const writeThrough = 0;
    const other = 1;
    const all = clickstreamInput({ count: 24_000, seed: 31 });
    const chunks: GeneratedMessage[][] = [0, 1, 2, 3].map((i) => all.slice(i * 6_000, (i + 1) * 6_000));
    const publish = async (messages: GeneratedMessage[]): Promise<number> =>
      (await publishInput(servers.nc, names.stream, names.subjectPrefix, messages)).lastSeq;
    // A short shutdown timeout: the first run is stopped while its replica is down, with nothing it can write.
    const settings = { flushIntervalMs: 200, checkpointIntervalMs: 300, shutdownTimeoutMs: 1_000 };
    const acked = (runner: WatchedRunner): number => runner.status()?.ackedSeq ?? 0;
    const logs: string[] = [];
    const log = (message: string): void => {
      logs.push(`${new Date().toISOString()} ${message}`);
      console.log(message);
    };
    // A wait that fails with where the run was: its status and last log lines.
    const until = async (runner: WatchedRunner, condition: () => boolean, what: string, timeoutMs = 60_000): Promise<void> => {
      await waitFor(condition, timeoutMs, what).catch((error: unknown) => {
        throw new Error(`${(error as Error).message}; status ${JSON.stringify(runner.status() ?? 'none yet')}; last log lines:\n${logs.slice(-10).join('\n')}`);
      });
    };
    const first = startClickstream(names, settings, clusterConfig(writeThrough), log);
    let failedOver: WatchedRunner | undefined;
    try {
      const firstEnd = await publish(chunks[0]!);
      await until(first, () => acked(first) >= firstEnd, 'the first part to be written and acked');

      // The replica not written through crashes: writes go on, and a restart's table check does not wait for it.
      await replicated.cluster.stopReplica(other);
      const secondEnd = await publish(chunks[1]!);
      await until(first, () => acked(first) >= secondEnd, 'the second part to be written while the other replica is down');
      expect(first.status()?.sinkRetries).toBe(0);
      await within(10_000, 'ensureTables with a replica down', ensureTables(clientOf(writeThrough), database, tables, { cluster: CLUSTER_NAME }));
      await replicated.cluster.startReplica(other);

      // The replica written through crashes: inserts are retried until it is back, nothing is acked meanwhile.
      await replicated.cluster.stopReplica(writeThrough);
      const thirdEnd = await publish(chunks[2]!);
      await until(first, () => (first.status()?.sinkRetries ?? 0) > 0, 'the pipeline to retry its inserts', 30_000);
      expect(acked(first)).toBe(secondEnd);
      await replicated.cluster.startReplica(writeThrough);
      await until(first, () => acked(first) >= thirdEnd, 'the third part to be written once the replica is back');

      // It crashes again, and the pipeline is restarted on the other replica: it resumes from its checkpoint there.
      await replicated.cluster.stopReplica(writeThrough);
      const retries = first.status()?.sinkRetries ?? 0;
      const end = await publish(chunks[3]!);
      await until(first, () => (first.status()?.sinkRetries ?? 0) > retries, 'the pipeline to retry its inserts again', 30_000);
      await first.dispose();
      expect(acked(first)).toBe(thirdEnd);
      failedOver = startClickstream(names, settings, clusterConfig(other), log);
      await until(failedOver, () => acked(failedOver!) >= end, 'the last part to be written through the other replica');
      expect((await failedOver.stop()).ackedSeq).toBe(end);
      await replicated.cluster.startReplica(writeThrough);
    } finally {
      await first.dispose();
      await failedOver?.dispose();
    }

    const replicas = [clientOf(0, database), clientOf(1, database)];
    for (const client of replicas) {
      for (const table of tables) await client.command({ query: `SYSTEM SYNC REPLICA ${quoteIdent(table.name)}` });
    }
    for (const replica of replicated.cluster.replicas) {
      await expectClickstreamExact(clusterConfig(replicated.cluster.replicas.indexOf(replica)).clickhouse, database, names.name, all);
    }
    for (const table of tables) {
      const [first, second] = await Promise.all(replicas.map((c) => contentOf(c, table)));
      expect({ table: table.name, ...second }).toEqual({ table: table.name, ...first });
      if (table !== pagesTable && !systemTables.includes(table as (typeof systemTables)[number])) expect(first?.rows, table.name).toBeGreaterThan(0);
      expect(await countThroughDistributed(replicas[other]!, table), `${table.name} through its Distributed table`).toBe(first?.rows);
    }
  }, 240_000);

  it('adds the columns a definition gained to the replicated table and its Distributed table, on every replica', async () => {
    const database = `${servers.database}_added`;
    const columns = { pipeline: 'String', seq: 'UInt64' } as const;
    const before = defineTable('letters', { columns, orderBy: ['pipeline', 'seq'] });
    const after = defineTable('letters', { columns: { ...columns, trace_id: 'String', correlation_id: 'String' }, orderBy: ['pipeline', 'seq'] });
    const [first, second] = [clientOf(0), clientOf(1)];
    await ensureTables(first!, database, [before], { cluster: CLUSTER_NAME });
    await new ClickHouseWriter(first!, database).insert(before, [{ pipeline: 'p', seq: 1 }]);
    // The second replica starts with the new definition, then the first again (finds nothing to add).
    await ensureTables(second!, database, [after], { cluster: CLUSTER_NAME });
    await ensureTables(first!, database, [after], { cluster: CLUSTER_NAME });
    const expected = ['rxa_partition', ...Object.keys(after.columns)];
    for (const client of [first!, second!]) {
      for (const name of ['letters', 'letters_all']) {
        await waitFor(
          async () => {
            const result = await client.query({
              query: `SELECT name FROM system.columns WHERE database = '${database}' AND table = '${name}'`,
              format: 'JSONEachRow',
            });
            return JSON.stringify((await result.json<{ name: string }>()).map((c) => c.name)) === JSON.stringify(expected);
          },
          30_000,
          `${name}'s columns on each replica`,
        );
      }
    }
    await new ClickHouseWriter(second!, database).insert(after, [{ pipeline: 'p', seq: 2, trace_id: 'abc', correlation_id: 'cart-2' }]);
    await waitFor(
      async () => {
        const result = await first!.query({
          query: `SELECT seq, trace_id, correlation_id FROM ${quoteTable(database, 'letters_current')} ORDER BY seq`,
          format: 'JSONEachRow',
          clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
        });
        const rows = await result.json();
        return (
          JSON.stringify(rows) ===
          JSON.stringify([
            { seq: 1, trace_id: '', correlation_id: '' },
            { seq: 2, trace_id: 'abc', correlation_id: 'cart-2' },
          ])
        );
      },
      30_000,
      'both rows through the first replica, the second fetched from the other',
    );
  }, 120_000);

  it('runs the same DDL on a current ClickHouse (chdb), against the same ZooKeeper', () => {
    const database = `${servers.database}_chdb`;
    const dir = replicated.cluster.dir;
    const configFile = join(dir, 'chdb.xml');
    // Its own database, so its ZooKeeper paths are its own; a replica needs an interserver port set, not served.
    writeFileSync(
      configFile,
      `<clickhouse>
  <zookeeper><node><host>127.0.0.1</host><port>${replicated.cluster.zooKeeperPort}</port></node></zookeeper>
  <macros><shard>01</shard><replica>chdb</replica></macros>
  <interserver_http_port>9</interserver_http_port>
  <remote_servers><${CLUSTER_NAME}><shard><internal_replication>true</internal_replication><replica><host>127.0.0.1</host><port>${replicated.cluster.replicas[0]!.tcpPort}</port></replica></shard></${CLUSTER_NAME}></remote_servers>
</clickhouse>
`,
    );
    const session = new Session(join(dir, 'chdb'), { connectionArgs: [`--config-file=${configFile}`] });
    try {
      // A host runs an ON CLUSTER query as it is without the clause (the DDL worker's rewrite); the clause must parse.
      const onCluster = onClusterSql(CLUSTER_NAME);
      const statements = [createDatabaseOnClusterSql(database, CLUSTER_NAME)];
      for (const table of tables) {
        statements.push(
          createReplicatedTableSql(table, database, CLUSTER_NAME),
          createDistributedTableSql(table, database, CLUSTER_NAME),
          createReadViewSql(table, database, CLUSTER_NAME),
        );
      }
      for (const statement of statements) {
        expect(statement).toContain(onCluster);
        session.query(`SELECT formatQuery(${sqlString(statement)})`);
        session.query(statement.replace(onCluster, ''));
      }
      const created = session.query(`SELECT name, engine, sorting_key FROM system.tables WHERE database = '${database}' ORDER BY name`, 'JSONEachRow');
      const engines = new Map(
        created
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line) as { name: string; engine: string; sorting_key: string })
          .map((t) => [t.name, t]),
      );
      for (const table of tables) {
        expect(engines.get(table.name)?.engine, table.name).toBe('ReplicatedReplacingMergeTree');
        expect(engines.get(table.name)?.sorting_key.replace(/[()]/g, '').split(', ')[0], table.name).toBe(PARTITION_COLUMN);
        expect(engines.get(distributedTableName(table))?.engine, distributedTableName(table)).toBe('Distributed');
        expect(engines.get(table.current.name)?.engine, table.current.name).toBe('View');
      }
      session.query(`DROP DATABASE ${quoteIdent(database)} SYNC`);
    } finally {
      session.close();
    }
  });
});
