/**
 * End to end, on the real servers: a seeded clickstream with duplicates, out-of-order, late and
 * malformed messages → JetStream → the clickstream pipeline → ClickHouse. Every table must equal
 * what an independent computation over the same input says (test/expected-clickstream.ts), every
 * malformed message must be in the dead-letter stream with a reason, and every dashboard panel
 * query must return rows from the data.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { type NatsConnection, connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configFromEnv } from '../core/config.ts';
import { createClickHouseClient } from '../core/clickhouse-client.ts';
import { runPipeline } from '../core/runner.ts';
import { runPanelQueries } from '../dashboards/run-panel-queries.ts';
import { generateClickstream } from '../generator/clickstream.ts';
import type { GeneratedMessage } from '../generator/messages.ts';
import { partitionSubject, publishMessages } from '../generator/publish.ts';
import { createClickstreamPipeline } from '../pipelines/clickstream.ts';
import { ClickEvent } from '../pipelines/clickstream-events.ts';
import { DEAD_LETTER_STREAM } from '../sinks/dead-letter.ts';
import { type ExpectedClickstream, expectedClickstream } from './expected-clickstream.ts';
import { dropTestResources, testId, waitFor } from './helpers.ts';

const id = testId();
const names = { name: `clickstream_e2e_${id}`, stream: `E2E_CLICKS_${id}`, subjectPrefix: `e2e_${id}.events` };
const database = `rxa_e2e_${id}`;
const bucket = `rxa_ckpt_${id}`;
const config = configFromEnv(process.env, { clickhouse: { database }, checkpointBucket: bucket });

let nc: NatsConnection;
let ch: ClickHouseClient;
let messages: GeneratedMessage[];
let expected: ExpectedClickstream;
const start = Date.now() - 2 * 3_600_000;

beforeAll(async () => {
  nc = await connect({ servers: config.nats.servers });
  ch = createClickHouseClient(config.clickhouse);
  const generated = generateClickstream({
    seed: 42,
    startTime: start,
    eventsPerSecond: 40,
    users: 6_000,
    duplicateRate: 0.03,
    outOfOrderRate: 0.05,
    lateRate: 0.01,
    malformedRate: 0.02,
  });
  messages = [];
  for (const m of generated) {
    messages.push(m);
    if (messages.length === 12_000) break;
  }
  // Time moves on: one event an hour later advances the watermark past every window and session.
  const lastTs = Math.max(...messages.flatMap((m) => ('event' in m ? [m.event.ts] : [])));
  const trailing = ClickEvent.parse({
    event_id: `trailing-${id}`,
    type: 'page_view',
    ts: lastTs + 3_600_000,
    user_id: 'trailing-user',
    url: 'https://shop.example.com/',
    referrer: null,
    user_agent: 'test',
    country: 'DE',
  });
  messages.push({ kind: 'valid', event: trailing, payload: new TextEncoder().encode(JSON.stringify(trailing)), msgId: trailing.event_id });
  expected = expectedClickstream(messages);
}, 60_000);

afterAll(async () => {
  if (!process.env.RXA_KEEP_TEST_DATA) await dropTestResources({ nc, ch, streams: [names.stream], buckets: [bucket], databases: [database], deadLetterPipelines: [names.name] });
  await ch.close();
  await nc.close();
});

describe('clickstream pipeline end to end', () => {
  it('writes exactly the independently computed totals, dead-letters malformed input, feeds every dashboard panel', async () => {
    const pipeline = createClickstreamPipeline(names);
    // The stream must exist before publishing; the pipeline would create it too.
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: names.stream, subjects: [`${names.subjectPrefix}.>`] });
    const published = await publishMessages(
      jetstream(nc),
      (m, i) => ('event' in m ? partitionSubject(names.subjectPrefix, m.event.user_id, 4) : `${names.subjectPrefix}.${i % 4}`),
      messages,
      {},
    );
    const streamInfo = await jsm.streams.info(names.stream);
    expect(streamInfo.state.messages).toBe(published.published - published.duplicatesDropped);

    const controller = new AbortController();
    let lastSeq = 0;
    const run = runPipeline(pipeline, { config, signal: controller.signal, onStatus: (s) => (lastSeq = s.lastSeq), statusIntervalMs: 200 });
    const chDb = createClickHouseClient(config.clickhouse, database);
    try {
      await waitFor(async () => lastSeq >= streamInfo.state.last_seq && (await count(chDb, 'clickstream_events')) === expected.events, 90_000);
      controller.abort();
      const final = await run;
      expect(final.lastSeq).toBe(streamInfo.state.last_seq);
      expect(final.ackedSeq).toBe(streamInfo.state.last_seq);

      // Raw events: valid + late, each once (duplicates removed by JetStream or dedupe).
      expect(await count(chDb, 'clickstream_events')).toBe(expected.events);

      const pageViews = await rows<{ window_start: number; url: string; views: number }>(chDb, 'SELECT toUnixTimestamp(window_start) AS window_start, url, views FROM clickstream_page_views_1m FINAL');
      expect(new Map(pageViews.map((r) => [`${r.window_start * 1000}|${r.url}`, r.views]))).toEqual(expected.pageViews);

      const users = await rows<{ window_start: number; users: number; events: number }>(chDb, 'SELECT toUnixTimestamp(window_start) AS window_start, users, events FROM clickstream_unique_users_1m FINAL');
      expect(new Map(users.map((r) => [r.window_start * 1000, r.users]))).toEqual(expected.uniqueUsers);
      expect(new Map(users.map((r) => [r.window_start * 1000, r.events]))).toEqual(expected.eventsPerMinute);

      const active = await rows<{ window_start: number; users: number }>(chDb, 'SELECT toUnixTimestamp(window_start) AS window_start, users FROM clickstream_active_users_5m FINAL');
      expect(new Map(active.map((r) => [r.window_start * 1000, r.users]))).toEqual(expected.activeUsers);

      const funnel = await rows<{ window_start: number; viewers: number; carters: number; buyers: number }>(chDb, 'SELECT toUnixTimestamp(window_start) AS window_start, viewers, carters, buyers FROM clickstream_funnel_1m FINAL');
      expect(new Map(funnel.map((r) => [r.window_start * 1000, { viewers: r.viewers, carters: r.carters, buyers: r.buyers }]))).toEqual(expected.funnel);

      const revenue = await rows<{ window_start: number; country: string; revenue: number; orders: number; items: number }>(
        chDb,
        'SELECT toUnixTimestamp(window_start) AS window_start, country, revenue, orders, items FROM clickstream_revenue_1m FINAL',
      );
      expect(new Map(revenue.map((r) => [`${r.window_start * 1000}|${r.country}`, { revenue: r.revenue, orders: r.orders, items: r.items }]))).toEqual(
        new Map([...expected.revenue].map(([k, v]) => [k, { ...v, revenue: Math.round(v.revenue * 100) / 100 }])),
      );
      expect(expected.revenue.size).toBeGreaterThan(0);

      const sessions = await rows<{ user_id: string; start: number; end: number; page_views: number; events: number; converted: number; revenue: number }>(
        chDb,
        'SELECT user_id, toUnixTimestamp(session_start) AS start, toUnixTimestamp(session_end) AS end, page_views, events, converted, revenue FROM clickstream_sessions FINAL',
      );
      expect(new Map(sessions.map((s) => [`${s.user_id}|${s.start}`, { end: s.end, pageViews: s.page_views, events: s.events, converted: s.converted, revenue: s.revenue }]))).toEqual(
        new Map([...expected.sessions].map(([k, v]) => [k, { ...v, revenue: Math.round(v.revenue * 100) / 100 }])),
      );

      // Late events: on the side output of every window they missed, never silently dropped.
      const late = await rows<{ stage: string; n: number }>(chDb, `SELECT stage, count() AS n FROM rxa_late_events FINAL WHERE pipeline = '${names.name}' GROUP BY stage`);
      const lateByStage = Object.fromEntries(late.map((r) => [r.stage, r.n]));
      expect(expected.lateEvents).toBeGreaterThan(0);
      for (const stage of ['unique-users', 'active-users', 'funnel', 'sessions']) expect(lateByStage[stage], `late at ${stage}: ${JSON.stringify(lateByStage)}`).toBe(expected.lateEvents);

      // Malformed: every one dead-lettered with a reason, in the table and in the DLQ stream.
      const dead = await rows<{ reason: string }>(chDb, `SELECT reason FROM rxa_dead_letters FINAL WHERE pipeline = '${names.name}'`);
      expect(dead.length).toBe(expected.malformed);
      for (const reason of ['invalid JSON', 'schema', 'invalid UTF-8', 'clock skew']) {
        expect(dead.some((d) => d.reason.startsWith(reason) || d.reason.includes(reason))).toBe(true);
      }
      const dlq = await jsm.streams.info(DEAD_LETTER_STREAM, { subjects_filter: `rxa.dlq.${names.name}.>` });
      const dlqCount = Object.values(dlq.state.subjects ?? {}).reduce((a, b) => a + b, 0);
      expect(dlqCount).toBe(expected.malformed);

      // Every dashboard panel query returns rows from this data.
      const results = await runPanelQueries(chDb, 'dashboards/clickstream.json', { from: start - 3_600_000, to: Date.now() });
      for (const result of results) expect(result.rows, `panel ${result.panel}`).toBeGreaterThan(0);
    } finally {
      controller.abort();
      await run.catch(() => {});
      await chDb.close();
    }
  }, 180_000);
});

async function count(client: ClickHouseClient, table: string): Promise<number> {
  const [row] = await rows<{ n: number }>(client, `SELECT count() AS n FROM ${table} FINAL`);
  return row?.n ?? 0;
}

async function rows<T>(client: ClickHouseClient, query: string): Promise<T[]> {
  const result = await client.query({ query, format: 'JSONEachRow', clickhouse_settings: { output_format_json_quote_64bit_integers: 0 } });
  return result.json<T>();
}
