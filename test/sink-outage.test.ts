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
    /** Every status reported while ClickHouse is cut off. */
    const during: PipelineStatus[] = [];
    let cutOff = false;
    const logs: Array<{ at: number; message: string }> = [];
    const onStatus = (s: PipelineStatus): void => {
      status = s;
      if (cutOff) during.push(s);
    };
    const onLog = (message: string): void => void logs.push({ at: performance.now(), message });
    const run = runPipeline(pipeline, { config, signal: controller.signal, statusIntervalMs: 100, onStatus, onLog });
    try {
      const firstEnd = (await jsm.streams.info(names.stream)).state.last_seq;
      await waitFor(() => (status?.ackedSeq ?? 0) >= firstEnd, 60_000, 'the first 10k events');
      // Everything published so far is acked: what comes next can only be acked once it is written.
      const ackedAtCut = status!.ackedSeq;

      cutOff = true;
      await proxy.cut();
      await publishInput(nc, names.stream, names.subjectPrefix, all.slice(10_000));
      // Each table's insert is retried with a backoff from 100 ms doubling to a 5 s cap, reached at
      // the tenth attempt (the writer logs the first failure and every tenth).
      const failed = (attempt: number) =>
        logs.filter(({ message }) => message.startsWith('ClickHouse insert into ') && message.includes(` failed (attempt ${attempt}), `));
      await waitFor(() => failed(10).length > 0, 60_000, 'the inserts to back off to their cap');
      const atCap = during.length;
      const tables = failed(1).length;
      // The outage lasts until every table's insert has failed twelve times.
      await waitFor(() => status!.sinkRetries >= 12 * tables, 60_000, 'twelve failed attempts per table');
      const outageMs = performance.now() - failed(1)[0]!.at;
      cutOff = false;
      const last = status!;
      // Nothing acked while nothing can be written.
      expect(Math.max(...during.map((s) => s.ackedSeq))).toBe(ackedAtCut);
      // Retrying, with backoff (5 s cap: a handful of retries per table, not thousands): twelve attempts
      // are eleven waits, 100 + 200 + 400 + 800 + 1,600 + 3,200 + 5 × 5,000 = 31,300 ms (less a
      // millisecond of timer rounding each).
      expect(failed(1).every(({ message }) => message.includes('retrying in 100 ms'))).toBe(true);
      expect(failed(10).every(({ message }) => message.includes('retrying in 5000 ms'))).toBe(true);
      expect(outageMs).toBeGreaterThanOrEqual(31_300 - 11);
      expect(last.sinkRetries).toBeGreaterThan(0);
      expect(last.sinkRetries).toBeLessThan(500);
      // Bounded: consumption stalls once the buffer is full (nothing consumed from the cap to the end,
      // two rounds of retries: ~10 s); the backlog stays in JetStream.
      expect(during.slice(atCap).map((s) => s.eventsIn)).toEqual(during.slice(atCap).map(() => last.eventsIn));
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
