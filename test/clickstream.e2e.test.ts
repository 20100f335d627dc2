/**
 * End to end, on the real servers: a seeded clickstream with duplicates, out-of-order, late and
 * malformed messages → JetStream → the clickstream pipeline → ClickHouse. Every table must equal
 * what an independent computation over the same input says (test/expected-clickstream.ts), every
 * malformed message must be in the dead-letter stream with a reason, and every dashboard panel
 * query must return rows from the data.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { jetstreamManager } from '@nats-io/jetstream';
import { beforeAll, describe, expect, it } from 'vitest';
import { createClickHouseClient } from '../core/clickhouse-client.ts';
import { runPipeline } from '../core/runner.ts';
import { runPanelQueries } from '../dashboards/run-panel-queries.ts';
import { ADDED_FIELD } from '../generator/clickstream.ts';
import type { GeneratedMessage } from '../generator/messages.ts';
import { createClickstreamPipeline } from '../pipelines/clickstream.ts';
import { DEAD_LETTER_STREAM } from '../sinks/dead-letter.ts';
import { clickstreamInput, publishInput } from './support/clickstream-input.ts';
import { type ExpectedClickstream, expectedClickstream } from './support/expected-clickstream.ts';
import { waitFor } from './support/helpers.ts';
import { asStored, readClickstream } from './support/read-clickstream.ts';
import { useTestServers } from './support/test-servers.ts';

const env = useTestServers('e2e', { name: 'clickstream_e2e', stream: 'E2E_CLICKS' });
const { names, database, config } = env;

let messages: GeneratedMessage[];
let expected: ExpectedClickstream;

beforeAll(() => {
  messages = clickstreamInput({ count: 12_000, seed: 42, eventsPerSecond: 40, duplicateRate: 0.03, lateRate: 0.01, malformedRate: 0.02, trailing: true });
  expected = expectedClickstream(messages);
}, 60_000);

describe('clickstream pipeline end to end', () => {
  it('writes exactly the independently computed totals, dead-letters malformed input, feeds every dashboard panel', async () => {
    const pipeline = createClickstreamPipeline(names);
    const jsm = await jetstreamManager(env.nc);
    const published = await publishInput(env.nc, names.stream, names.subjectPrefix, messages);
    // JetStream's own dedup window dropped the re-sends that kept their Nats-Msg-Id.
    expect(published.duplicatesDropped).toBeGreaterThan(0);
    expect(published.messages).toBe(published.published - published.duplicatesDropped);

    const controller = new AbortController();
    let lastSeq = 0;
    let operators: Record<string, number> = {};
    const run = runPipeline(pipeline, {
      config,
      signal: controller.signal,
      onStatus: (s) => {
        lastSeq = s.lastSeq;
        operators = s.operators;
      },
      statusIntervalMs: 200,
    });
    const chDb = createClickHouseClient(config.clickhouse, database);
    try {
      await waitFor(async () => lastSeq >= published.lastSeq && (await count(chDb, 'clickstream_events')) === expected.events, 90_000);
      controller.abort();
      const final = await run;
      expect(final.lastSeq).toBe(published.lastSeq);
      expect(final.ackedSeq).toBe(published.lastSeq);

      // Every table, key by key, equals the independent computation (raw events: valid + late, each once).
      expect(expected.revenue.size).toBeGreaterThan(0);
      expect(expected.sessions.size).toBeGreaterThan(0);
      expect(await readClickstream(chDb, names.name)).toEqual(asStored(expected));

      // Late events: on the side output of every window they missed, never silently dropped.
      const late = await rows<{ stage: string; n: number }>(
        chDb,
        `SELECT stage, count() AS n FROM rxa_late_events FINAL WHERE pipeline = '${names.name}' GROUP BY stage`,
      );
      const lateByStage = Object.fromEntries(late.map((r) => [r.stage, r.n]));
      expect(expected.lateEvents).toBeGreaterThan(0);
      for (const stage of ['unique-users', 'active-users', 'funnel', 'sessions'])
        expect(lateByStage[stage], `late at ${stage}: ${JSON.stringify(lateByStage)}`).toBe(expected.lateEvents);

      // Malformed: every one dead-lettered with a reason, in the table and in the DLQ stream.
      const dead = await rows<{ reason: string }>(chDb, `SELECT reason FROM rxa_dead_letters FINAL WHERE pipeline = '${names.name}'`);
      expect(dead.length).toBe(expected.malformed);
      for (const reason of ['invalid JSON', 'schema', 'invalid UTF-8', 'clock skew']) {
        expect(dead.some((d) => d.reason.startsWith(reason) || d.reason.includes(reason))).toBe(true);
      }
      const dlq = await jsm.streams.info(DEAD_LETTER_STREAM, { subjects_filter: `rxa.dlq.${names.name}.>` });
      const dlqCount = Object.values(dlq.state.subjects ?? {}).reduce((a, b) => a + b, 0);
      expect(dlqCount).toBe(expected.malformed);

      // Events from a producer a version ahead: their added field dropped and counted, the events kept (in the tables above).
      const added = messages.filter((m) => m.kind === 'valid' && m.addedField === ADDED_FIELD).length;
      expect(added).toBeGreaterThan(0);
      expect(operators[`validate.unknown_field:${ADDED_FIELD}`]).toBe(added);

      // Every dashboard panel query returns rows from this data.
      const results = await runPanelQueries(chDb, 'dashboards/clickstream.json', { from: Date.now() - 6 * 3_600_000, to: Date.now() });
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
