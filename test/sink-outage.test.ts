/**
 * ClickHouse unreachable for 30 s mid-run (a TCP proxy in front of the real server is cut): the
 * pipeline retries with backoff, stops pulling once its buffer is full (bounded in-flight), acks
 * nothing it has not written, and once ClickHouse is back the totals are exact.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClickHouseClient } from '../core/clickhouse-client.ts';
import { configFromEnv } from '../core/config.ts';
import { type PipelineStatus, runPipeline } from '../core/runner.ts';
import { createClickstreamPipeline } from '../pipelines/clickstream.ts';
import { clickstreamInput, publishInput } from './support/clickstream-input.ts';
import { dropTestResources, testId, waitFor } from './support/helpers.ts';
import { expectClickstreamExact } from './support/read-clickstream.ts';
import { TcpProxy } from './support/tcp-proxy.ts';

const id = testId();
const names = { name: `outage_${id}`, stream: `OUTAGE_${id}`, subjectPrefix: `outage_${id}.events` };
const database = `rxa_outage_${id}`;
const bucket = `rxa_ckpt_${id}`;
const direct = configFromEnv(process.env, { clickhouse: { database }, checkpointBucket: bucket });
const MAX_BUFFERED_ROWS = 5_000;

let nc: NatsConnection;
let jsm: JetStreamManager;
let ch: ClickHouseClient;
let proxy: TcpProxy;

beforeAll(async () => {
  nc = await connect({ servers: direct.nats.servers });
  jsm = await jetstreamManager(nc);
  ch = createClickHouseClient(direct.clickhouse);
  const target = new URL(direct.clickhouse.url);
  proxy = new TcpProxy(target.hostname, Number(target.port || 8123));
  await proxy.start();
  await jsm.streams.add({ name: names.stream, subjects: [`${names.subjectPrefix}.>`] });
});

afterAll(async () => {
  await proxy.close();
  await dropTestResources({ nc, ch, streams: [names.stream], buckets: [bucket], databases: [database], deadLetterPipelines: [names.name] });
  await ch.close();
  await nc.close();
});

describe('ClickHouse outage', () => {
  it('retries, bounds in-flight, acks nothing unwritten, and ends with exact totals', async () => {
    const config = configFromEnv(process.env, { clickhouse: { database, url: `http://127.0.0.1:${proxy.port}` }, checkpointBucket: bucket });
    const pipeline = createClickstreamPipeline({
      ...names,
      settings: { flushIntervalMs: 200, checkpointIntervalMs: 500, flushRows: 2_000, maxBufferedRows: MAX_BUFFERED_ROWS, pullBatch: 500 },
    });
    const all = clickstreamInput({ count: 40_000, seed: 5 });
    await publishInput(nc, names.stream, names.subjectPrefix, all.slice(0, 10_000));
    const controller = new AbortController();
    let status: PipelineStatus | undefined;
    const run = runPipeline(pipeline, { config, signal: controller.signal, statusIntervalMs: 100, onStatus: (s) => (status = s) });
    try {
      const firstEnd = (await jsm.streams.info(names.stream)).state.last_seq;
      await waitFor(() => (status?.ackedSeq ?? 0) >= firstEnd, 60_000, 'the first 10k events');

      await proxy.cut();
      await publishInput(nc, names.stream, names.subjectPrefix, all.slice(10_000));
      await sleep(2_000); // let an insert in flight at the cut fail; nothing can be acked after this
      const ackedAtCut = status!.ackedSeq;
      const samples: PipelineStatus[] = [];
      for (let i = 0; i < 28; i++) {
        await sleep(1_000);
        samples.push(status!);
      }
      const last = samples[samples.length - 1]!;
      // Nothing acked while nothing can be written.
      expect(Math.max(...samples.map((s) => s.ackedSeq))).toBe(ackedAtCut);
      // Retrying, with backoff (5 s cap: a handful of retries per table, not thousands).
      expect(last.sinkRetries).toBeGreaterThan(0);
      expect(last.sinkRetries).toBeLessThan(500);
      // Bounded: consumption stalls once the buffer is full; the backlog stays in JetStream.
      expect(last.eventsIn).toBe(samples[samples.length - 10]!.eventsIn);
      expect(last.lag).toBeGreaterThan(5_000);
      expect(last.lastSeq - ackedAtCut).toBeLessThan(15_000);

      await proxy.restore();
      const end = (await jsm.streams.info(names.stream)).state.last_seq;
      await waitFor(() => (status?.ackedSeq ?? 0) >= end, 120_000, 'catching up after the outage');
      controller.abort();
      await run;
      await expectClickstreamExact(direct.clickhouse, database, names.name, all);
    } finally {
      controller.abort();
      await run.catch(() => {});
    }
  }, 240_000);
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
