/**
 * Replay and backfill on the real servers. The live pipeline runs throughout; replays of several
 * ranges (one while the live pipeline is processing new data, one by time, one of the whole stream)
 * must leave every table exactly at the independently computed totals, and must not publish dead
 * letters twice.
 */
import { type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replayPipeline } from '../core/replay.ts';
import { type PipelineStatus, runPipeline } from '../core/runner.ts';
import { createClickstreamPipeline } from '../pipelines/clickstream.ts';
import { DEAD_LETTER_STREAM } from '../sinks/dead-letter.ts';
import { clickstreamInput, publishInput } from './support/clickstream-input.ts';
import { expectedClickstream } from './support/expected-clickstream.ts';
import { waitFor } from './support/helpers.ts';
import { asStored, readClickstream } from './support/read-clickstream.ts';
import { useTestServers } from './support/test-servers.ts';

const env = useTestServers('replay');
const { names, config } = env;
// Frequent checkpoints, each kept in the history, so replays start from a real historical state.
const pipeline = createClickstreamPipeline({
  ...names,
  settings: { flushIntervalMs: 200, checkpointIntervalMs: 300, checkpointHistoryIntervalMs: 0, flushRows: 5_000, maxBufferedRows: 20_000 },
});

let jsm: JetStreamManager;
const live = new AbortController();
let liveRun: Promise<PipelineStatus>;
let liveStatus: PipelineStatus | undefined;

beforeAll(async () => {
  jsm = await jetstreamManager(env.nc);
  await jsm.streams.add({ name: names.stream, subjects: [`${names.subjectPrefix}.>`] });
  liveRun = runPipeline(pipeline, { config, signal: live.signal, statusIntervalMs: 100, onStatus: (s) => (liveStatus = s) });
});

afterAll(async () => {
  live.abort();
  await liveRun.catch(() => {});
});

describe('replay', () => {
  it('leaves totals exact when replaying during live processing, by time, and from the start', async () => {
    const all = clickstreamInput({ count: 40_000, seed: 11 });
    const firstHalf = all.slice(0, 20_000);
    const secondHalf = all.slice(20_000);
    // In two steps, so that a historical checkpoint exists inside the first half however fast it goes.
    const { lastSeq: quarter } = await publishInput(env.nc, names.stream, names.subjectPrefix, firstHalf.slice(0, 10_000));
    await waitFor(() => (liveStatus?.ackedSeq ?? 0) >= quarter, 60_000, 'the live pipeline to process the first quarter');
    const { lastSeq: half } = await publishInput(env.nc, names.stream, names.subjectPrefix, firstHalf.slice(10_000));
    await waitFor(() => (liveStatus?.ackedSeq ?? 0) >= half, 60_000, 'the live pipeline to process the first half');
    const halfTime = Date.now();
    expect(await readClickstream(env.chDb, names.name)).toEqual(asStored(expectedClickstream(firstHalf)));

    // Replay a middle range while the live pipeline processes the second half.
    const publishing = publishInput(env.nc, names.stream, names.subjectPrefix, secondHalf);
    const during = await replayPipeline(pipeline, { config, from: { seq: quarter + 1 }, to: { seq: half }, signal: new AbortController().signal });
    await publishing;
    expect(during.restoredAtSeq).toBeGreaterThan(0); // started from a historical checkpoint, not from scratch
    expect(during.restoredAtSeq).toBeLessThanOrEqual(quarter);
    const end = (await jsm.streams.info(names.stream)).state.last_seq;
    await waitFor(() => (liveStatus?.ackedSeq ?? 0) >= end, 60_000, 'the live pipeline to process the second half');
    const expected = asStored(expectedClickstream(all));
    expect(await readClickstream(env.chDb, names.name)).toEqual(expected);
    const deadLetters = await dlqCount();
    expect(deadLetters).toBe(expected.malformed);

    // By time: from the moment the first half was done, to now.
    const byTime = await replayPipeline(pipeline, {
      config,
      from: { time: halfTime - 60_000 },
      to: { time: Date.now() },
      signal: new AbortController().signal,
    });
    expect(byTime.processed).toBeGreaterThan(0);
    expect(await readClickstream(env.chDb, names.name)).toEqual(expected);

    // The whole stream, twice.
    for (let i = 0; i < 2; i++) {
      const whole = await replayPipeline(pipeline, { config, from: { seq: 1 }, signal: new AbortController().signal });
      expect(whole.restoredAtSeq).toBe(0);
      expect(whole.processed).toBe(end);
      expect(await readClickstream(env.chDb, names.name)).toEqual(expected);
    }
    expect(await dlqCount()).toBe(deadLetters);
    // Replays delete their consumers: the live pipeline's is the only one left.
    const consumers: string[] = [];
    for await (const info of jsm.consumers.list(names.stream)) consumers.push(info.name);
    expect(consumers).toEqual([names.name]);
  }, 240_000);
});

async function dlqCount(): Promise<number> {
  const info = await jsm.streams.info(DEAD_LETTER_STREAM, { subjects_filter: `rxa.dlq.${names.name}.>` });
  return Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
}
