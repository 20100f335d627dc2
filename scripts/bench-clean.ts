/**
 * Remove what interrupted `npm run bench` runs left on the local servers: streams `BENCH_*`,
 * checkpoint buckets `OBJ_rxa_bench_*` with their leases `KV_rxa_bench_*`, databases `rxa_bench_*` and the bench pipelines' dead
 * letters in RXA_DLQ. A finished run cleans up after itself; this is for a killed one.
 *
 *   npx tsx scripts/bench-clean.ts
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { createClickHouseClient } from '../core/clickhouse-client.ts';
import { configFromEnv } from '../core/config.ts';
import { quoteIdent } from '../sinks/clickhouse/sql.ts';
import { DEAD_LETTER_STREAM, DEAD_LETTER_SUBJECT_PREFIX } from '../sinks/dead-letter.ts';

const config = configFromEnv();
const nc = await connect({ servers: config.nats.servers, name: 'rxa:bench-clean' });
const clickhouse = createClickHouseClient(config.clickhouse);
try {
  const jsm = await jetstreamManager(nc);
  for await (const name of jsm.streams.names()) {
    if (name.startsWith('BENCH_') || name.startsWith('OBJ_rxa_bench_') || name.startsWith('KV_rxa_bench_')) {
      await jsm.streams.delete(name);
      console.log(`deleted stream ${name}`);
    }
  }
  // Subject filters match whole tokens only: find the bench pipelines' tokens among the DLQ subjects.
  const dlq = await jsm.streams.info(DEAD_LETTER_STREAM, { subjects_filter: `${DEAD_LETTER_SUBJECT_PREFIX}.>` }).catch(() => undefined);
  const pipelines = new Set(Object.keys(dlq?.state.subjects ?? {}).map((subject) => subject.split('.')[2] ?? ''));
  for (const pipeline of pipelines) {
    if (!pipeline.startsWith('bench_')) continue;
    await jsm.streams.purge(DEAD_LETTER_STREAM, { filter: `${DEAD_LETTER_SUBJECT_PREFIX}.${pipeline}.>` });
    console.log(`purged dead letters of ${pipeline}`);
  }
  const result = await clickhouse.query({ query: "SELECT name FROM system.databases WHERE startsWith(name, 'rxa_bench_')", format: 'JSONEachRow' });
  for (const { name } of await result.json<{ name: string }>()) {
    await clickhouse.command({ query: `DROP DATABASE IF EXISTS ${quoteIdent(name)}` });
    console.log(`dropped database ${name}`);
  }
} finally {
  await clickhouse.close();
  await nc.drain();
}
