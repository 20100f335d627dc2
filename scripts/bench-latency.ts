/**
 * The latency phase of `npm run bench` alone, for measuring a tuning change:
 *
 *   npx tsx scripts/bench-latency.ts --rate 20000 --settings '{"flushIntervalMs":500}'
 *
 * Runs the clickstream pipeline live in a process of its own, publishes at `--rate` from a worker
 * thread and measures publish → visible latency as `npm run bench` does (see bench/latency.ts).
 * Prints the result as one JSON line, with ClickHouse's own counters over the phase beside it
 * (inserts, rows inserted and merged: on a small machine ClickHouse's CPU follows the number of
 * inserts more than the number of rows), and removes what it created.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { Command } from 'commander';
import { measureLatency } from '../bench/latency.ts';
import { dropPhase, newRunId, phaseNames } from '../bench/names.ts';
import { nonNegativeInt, positiveInt } from '../cli/int-options.ts';
import { createClickHouseClient } from '../core/clickhouse-client.ts';
import { configFromEnv } from '../core/config.ts';
import type { PipelineSettingsInput } from '../core/pipeline.ts';

const options = new Command()
  .name('bench-latency')
  .option('--rate <n>', 'offered rate, events/s', positiveInt, 20_000)
  .option('--seconds <n>', 'measured duration', positiveInt, 30)
  .option('--warmup-seconds <n>', 'published first at the same rate, not measured', nonNegativeInt, 5)
  .option('--timeline <ms>', 'also print the latency by slice of publish time of this length, with the checkpoints saved in each (stderr)', positiveInt)
  .option('--settings <json>', 'override pipeline settings, e.g. \'{"flushIntervalMs":500}\'', (v: string) => JSON.parse(v) as PipelineSettingsInput)
  .parse()
  .opts<{ rate: number; seconds: number; warmupSeconds: number; timeline?: number; settings?: PipelineSettingsInput }>();

/** ClickHouse's cumulative counters that say what its CPU went to. */
const COUNTERS = ['InsertQuery', 'InsertedRows', 'MergedRows', 'UserTimeMicroseconds', 'SystemTimeMicroseconds'] as const;

async function counters(clickhouse: ClickHouseClient): Promise<Record<string, number>> {
  const result = await clickhouse.query({
    query: `SELECT event, value FROM system.events WHERE event IN (${COUNTERS.map((c) => `'${c}'`).join(', ')})`,
    format: 'JSONEachRow',
  });
  const rows = await result.json<{ event: string; value: string | number }>();
  return Object.fromEntries(COUNTERS.map((c) => [c, Number(rows.find((r) => r.event === c)?.value ?? 0)]));
}

const names = phaseNames(newRunId(), 'lat');
const base = configFromEnv();
const nc = await connect({ servers: base.nats.servers, name: 'rxa:bench-latency', noAsyncTraces: true });
const jsm = await jetstreamManager(nc);
const clickhouse = createClickHouseClient(base.clickhouse);
try {
  const before = await counters(clickhouse);
  const result = await measureLatency(
    configFromEnv(process.env, { clickhouse: { database: names.database }, checkpointBucket: names.bucket }),
    jsm,
    clickhouse,
    names,
    {
      rate: options.rate,
      seconds: options.seconds,
      warmupSeconds: options.warmupSeconds,
      ...(options.settings ? { settings: options.settings } : {}),
      ...(options.timeline ? { timelineMs: options.timeline } : {}),
    },
  );
  const { timeline, ...figures } = result;
  for (const slice of timeline ?? []) {
    const saves = slice.checkpointSavesMs.length > 0 ? `  checkpoint saved (${slice.checkpointSavesMs.join(', ')} ms)` : '';
    process.stderr.write(
      `${(slice.atMs / 1000).toFixed(1).padStart(6)} s  ${String(slice.events).padStart(6)} events  p50 ${String(Math.round(slice.p50Ms)).padStart(5)} ms  max ${String(Math.round(slice.maxMs)).padStart(5)} ms${saves}\n`,
    );
  }
  const after = await counters(clickhouse);
  // Server-wide counters: anything else using this ClickHouse meanwhile is counted too.
  const clickhouseCounters = Object.fromEntries(COUNTERS.map((c) => [c, after[c]! - before[c]!]));
  process.stdout.write(`${JSON.stringify({ ...figures, settings: options.settings ?? {}, clickhouseCounters })}\n`);
} finally {
  await dropPhase(jsm, clickhouse, names);
  await clickhouse.close();
  await nc.drain();
}
