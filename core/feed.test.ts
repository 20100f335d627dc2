import type { JsMsg } from '@nats-io/jetstream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SnapshotBuffers } from '../state/snapshot-buffers.ts';
import { context, pageViewsPipeline } from '../test/fixtures/page-views-pipeline.ts';
import { Checkpointer } from './checkpointer.ts';
import type { CutWriter } from './cut-writer.ts';
import type { Cut } from './engine.ts';
import { PipelineEngine } from './engine.ts';
import { type Checkpoints, Feed } from './feed.ts';
import { PipelineSettings } from './pipeline.ts';

/** Stream sequences of the messages acked, in order (AckAll: a checkpoint acks its last message). */
let acked: number[] = [];

/** A message as the consumer hands it over: its reply subject carries the consumer's backlog and its publish time. */
function message(seq: number, pending: number, payload: string, publishedMs = 1_700_000_000_000): JsMsg {
  const reply = `$JS.ACK.PAGE_VIEWS_TEST.page_views_test.1.${seq}.${seq}.${publishedMs}000000.${pending}`;
  return { data: new TextEncoder().encode(payload), subject: 'page.views.test.0', reply, ack: () => void acked.push(seq) } as unknown as JsMsg;
}

/** A click (published long ago, unless told). */
function delivery(seq: number, pending: number, publishedMs?: number): JsMsg {
  return message(seq, pending, JSON.stringify({ page: '/a', ts: 1_700_000_000_000 + seq }), publishedMs);
}

/** A delivery whose payload is not JSON: a dead letter. */
function malformed(seq: number): JsMsg {
  return message(seq, 0, 'not json');
}

/** Messages pushed by the test, consumed by the feed as they come. */
class Inbox implements AsyncIterable<JsMsg> {
  private readonly queue: JsMsg[] = [];
  private wake: (() => void) | undefined;
  private ended = false;

  push(msg: JsMsg): void {
    this.queue.push(msg);
    this.wake?.();
  }

  end(): void {
    this.ended = true;
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<JsMsg> {
    for (;;) {
      const next = this.queue.shift();
      if (next) yield next;
      else if (this.ended) return;
      else await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }
}

afterEach(() => {
  vi.useRealTimers();
  acked = [];
});

describe('Feed', () => {
  it('cuts every flushIntervalMs when live, every backlogFlushIntervalMs while catching up (a backlog, well behind)', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout', 'performance', 'Date'] });
    await vi.advanceTimersByTimeAsync(10_000); // a clock well past the feed's "no cut yet"
    const settings = PipelineSettings.parse({ pullBatch: 100, flushIntervalMs: 250, backlogFlushIntervalMs: 1_000 });
    const cuts: Cut[] = [];
    const writer = { write: async (cut: Cut) => void cuts.push(cut) } as unknown as CutWriter;
    const feed = new Feed(new PipelineEngine(pageViewsPipeline, context), { settings, writer, startAfterSeq: 0 });
    const inbox = new Inbox();
    const running = feed.run(inbox);

    inbox.push(delivery(1, 0)); // live: nothing else waiting
    await vi.advanceTimersByTimeAsync(1_000);
    expect(cuts).toHaveLength(4);

    inbox.push(delivery(2, 5_000)); // 5,000 more waiting: catching up
    await vi.advanceTimersByTimeAsync(1_900);
    expect(cuts).toHaveLength(5); // at +1,000 ms since the last cut, not every 250 ms

    inbox.push(delivery(3, 100)); // down to one pull batch: live again
    await vi.advanceTimersByTimeAsync(1_000);
    expect(cuts).toHaveLength(9);

    // A live pipeline a moment behind (published 500 ms ago, under backlogLagMs): still every 250 ms.
    inbox.push(delivery(4, 5_000, Date.now() - 500));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(cuts).toHaveLength(13);

    inbox.end();
    await expect(running).resolves.toBe('done');
  });

  it('writes dead letters with early results (every earlyResultsIntervalMs), and at once when flushRows of them wait', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout', 'performance', 'Date'] });
    await vi.advanceTimersByTimeAsync(10_000);
    const settings = PipelineSettings.parse({ flushIntervalMs: 250, earlyResultsIntervalMs: 1_000, flushRows: 3 });
    const lettersPerCut: number[] = [];
    const writer = { write: async (cut: Cut) => void lettersPerCut.push(cut.deadLetters.length) } as unknown as CutWriter;
    const feed = new Feed(new PipelineEngine(pageViewsPipeline, context), { settings, writer, startAfterSeq: 0 });
    const inbox = new Inbox();
    const running = feed.run(inbox);

    inbox.push(malformed(1));
    await vi.advanceTimersByTimeAsync(250);
    expect(lettersPerCut).toEqual([1]); // the first cut emits early results

    inbox.push(malformed(2));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(lettersPerCut).toEqual([1, 0, 0, 0, 1]); // held by the cuts in between, written 1 s after the last

    for (const seq of [3, 4, 5]) inbox.push(malformed(seq));
    await vi.advanceTimersByTimeAsync(0);
    expect(lettersPerCut).toEqual([1, 0, 0, 0, 1, 3]); // flushRows of them: a cut right away

    inbox.end();
    await expect(running).resolves.toBe('done');
  });

  it('stops consuming while maxBufferedRows rows and side outputs wait for a sink that does not answer', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout', 'performance', 'Date'] });
    const settings = PipelineSettings.parse({ flushRows: 2, maxBufferedRows: 5 });
    let writes = 0;
    let recover!: () => void;
    const recovered = new Promise<void>((resolve) => (recover = resolve));
    // ClickHouse is down: writes finish only once it is back.
    const writer = {
      write: () => {
        writes++;
        return recovered;
      },
    } as unknown as CutWriter;
    const feed = new Feed(new PipelineEngine(pageViewsPipeline, context), { settings, writer, startAfterSeq: 0 });
    const inbox = new Inbox();
    const running = feed.run(inbox);
    // A flood of bad input: nothing but dead letters.
    for (let seq = 1; seq <= 50; seq++) inbox.push(malformed(seq));
    // Twenty flush intervals, each followed by every callback it leads to: whatever the feed would
    // read or write without the sink has happened by now.
    await vi.advanceTimersByTimeAsync(20 * settings.flushIntervalMs);
    expect(writes).toBe(1);
    // The write in progress holds some, the cut queued behind it the rest: no more than that is read.
    expect(feed.eventsIn).toBeLessThanOrEqual(2 * settings.maxBufferedRows);

    recover();
    inbox.end();
    await expect(running).resolves.toBe('done');
    expect(feed.eventsIn).toBe(50);
  });

  it("takes the last cut's snapshot only once the checkpoint in flight is saved: never two copies of the state", async () => {
    const settings = PipelineSettings.parse({ flushRows: 2, checkpointEveryMessages: 2 });
    const writer = { write: async () => {} } as unknown as CutWriter;
    const engine = new PipelineEngine(pageViewsPipeline, context);
    const cut = vi.spyOn(engine, 'cut');
    let finishSave!: () => void;
    const saves: number[] = [];
    const checkpointer = new Checkpointer({
      pipeline: pageViewsPipeline.name,
      stream: pageViewsPipeline.source.stream,
      settings,
      lease: { confirm: async () => {} },
      store: {
        save: async (checkpoint) => {
          saves.push(checkpoint.lastSeq);
          // The first save is slow (a large state, a slow NATS); the last one is not.
          if (saves.length === 1) await new Promise<void>((resolve) => (finishSave = resolve));
          return { written: 1, bytes: 1 };
        },
        saveHistory: async () => {},
      },
      counters: () => ({}),
      ackedSeq: 0,
      historySavedAt: Date.now(),
      signal: new AbortController().signal,
      log: () => {},
    });
    const settled = vi.spyOn(checkpointer, 'settled');
    const feed = new Feed(engine, { settings, writer, startAfterSeq: 0, checkpoints: checkpointer });
    const inbox = new Inbox();
    const running = feed.run(inbox);
    for (const seq of [1, 2]) inbox.push(delivery(seq, 0));
    await vi.waitFor(() => expect(saves).toEqual([2]));
    inbox.push(delivery(3, 0)); // its cuts take no snapshot: the first is still being saved
    inbox.end();
    await expect(running).resolves.toBe('done');

    const last = feed.commit(true);
    // The last cut waits for the save in flight before it snapshots.
    await vi.waitFor(() => expect(settled).toHaveBeenCalled());
    const snapshotsTaken = (): number => cut.mock.calls.filter(([snapshot]) => snapshot).length;
    expect(snapshotsTaken()).toBe(1); // the last cut waits: the first snapshot is still being saved
    expect(acked).toEqual([]);
    finishSave();
    await last;
    expect(snapshotsTaken()).toBe(2);
    expect(saves).toEqual([2, 3]);
    expect(acked).toEqual([2, 3]);
    // Both snapshots came from the checkpointer's buffers.
    expect(cut.mock.calls.filter(([snapshot]) => snapshot).every(([snapshot]) => snapshot === checkpointer.buffers)).toBe(true);
  });

  it('stops reading once a checkpoint save failed, with its error', async () => {
    const settings = PipelineSettings.parse({ flushRows: 1 });
    const writer = { write: async () => {} } as unknown as CutWriter;
    const lost = new Error('lost the lease');
    let dueAsked = 0;
    const checkpoints: { -readonly [K in keyof Checkpoints]: Checkpoints[K] } = {
      due: () => ++dueAsked === 1,
      buffers: new SnapshotBuffers(),
      save: () => {
        checkpoints.failure ??= lost;
        return Promise.reject(lost);
      },
      settled: async () => {},
      failure: undefined as unknown,
    };
    const feed = new Feed(new PipelineEngine(pageViewsPipeline, context), { settings, writer, startAfterSeq: 0, checkpoints });
    const inbox = new Inbox();
    const running = feed.run(inbox);
    inbox.push(delivery(1, 0));
    await vi.waitFor(() => expect(checkpoints.failure).toBe(lost));
    inbox.push(delivery(2, 0));
    await expect(running).rejects.toBe(lost);
    expect(feed.lastSeq).toBe(1);
  });
});
