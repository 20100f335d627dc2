/**
 * Backfill: a new pipeline version with an extra aggregate (examples/clickstream-v2.ts), replayed
 * from the start of the stream, fills the new table from history and leaves version 1's tables
 * exactly as they were.
 */
import { describe, expect, it } from 'vitest';
import { replayPipeline } from '../core/replay.ts';
import { type PipelineStatus, runPipeline } from '../core/runner.ts';
import { clickstreamV2 } from '../examples/clickstream-v2.ts';
import { createClickstreamPipeline } from '../pipelines/clickstream.ts';
import { clickstreamInput, publishInput } from './support/clickstream-input.ts';
import { expectedClickstream } from './support/expected-clickstream.ts';
import { waitFor } from './support/helpers.ts';
import { asStored, readClickstream } from './support/read-clickstream.ts';
import { useTestServers } from './support/test-servers.ts';

const env = useTestServers('backfill');
const { names, config } = env;
env.alsoDrop({ deadLetterPipelines: [`${names.name}_v2`] });

describe('backfill a new aggregate', () => {
  it('fills the new table from history and leaves the existing tables unchanged', async () => {
    const messages = clickstreamInput({ count: 20_000, seed: 21, eventsPerSecond: 20 });
    const { lastSeq: last } = await publishInput(env.nc, names.stream, names.subjectPrefix, messages);

    // Version 1 runs first and processes everything.
    const v1 = createClickstreamPipeline(names);
    const controller = new AbortController();
    let status: PipelineStatus | undefined;
    const run = runPipeline(v1, { config, signal: controller.signal, statusIntervalMs: 100, onStatus: (s) => (status = s) });
    await waitFor(() => (status?.ackedSeq ?? 0) >= last, 60_000, 'version 1 to process the stream');
    // Acked input means a checkpoint was saved: its size and save time are reported.
    expect(status?.lastCheckpointBytes).toBeGreaterThan(10_000);
    expect(status?.lastCheckpointMs).toBeGreaterThan(0);
    controller.abort();
    await run;
    const before = await readClickstream(env.chDb, names.name);
    expect(before).toEqual(asStored(expectedClickstream(messages)));

    // Version 2 adds clickstream_country_hourly; replayed from the start of the stream.
    const summary = await replayPipeline(clickstreamV2(v1), { config, from: { seq: 1 }, signal: new AbortController().signal });
    expect(summary.processed).toBe(last);

    const expectedHourly = new Map<string, number>();
    for (const m of messages) {
      if (m.kind !== 'valid' && m.kind !== 'late') continue;
      const key = `${Math.floor(m.event.ts / 3_600_000) * 3_600_000}|${m.event.country}`;
      expectedHourly.set(key, (expectedHourly.get(key) ?? 0) + 1);
    }
    const hourly = await (
      await env.chDb.query({
        query: 'SELECT toUnixTimestamp(window_start) * 1000 AS w, country, events FROM clickstream_country_hourly FINAL',
        format: 'JSONEachRow',
        clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
      })
    ).json<{ w: number; country: string; events: number }>();
    expect(new Map(hourly.map((r) => [`${r.w}|${r.country}`, r.events]))).toEqual(expectedHourly);
    // The shared tables are rewritten with identical rows: nothing changes.
    expect(await readClickstream(env.chDb, names.name)).toEqual(before);
  }, 180_000);
});
