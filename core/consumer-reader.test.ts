/** The read loop against scripted consumers: what it does when a delivery is lost, a pull breaks, the consumer goes away, or the run stops. */
import type { Consumer, JsMsg } from '@nats-io/jetstream';
import { describe, expect, it, vi } from 'vitest';
import { PullInterrupted } from '../sources/batched-pull.ts';
import type { OpenedConsumer } from '../sources/durable-consumer.ts';
import { context, pageViewsPipeline } from '../test/fixtures/page-views-pipeline.ts';
import { ConsumerReader } from './consumer-reader.ts';
import type { CutWriter } from './cut-writer.ts';
import { PipelineEngine } from './engine.ts';
import { Feed } from './feed.ts';
import { PipelineSettings } from './pipeline.ts';

/** Stream sequence `seq`, delivered as the consumer's delivery number `delivery`. */
function delivered(seq: number, delivery: number): JsMsg {
  const reply = `$JS.ACK.PAGE_VIEWS_TEST.reader.1.${seq}.${delivery}.1700000000000000000.0`;
  const data = new TextEncoder().encode(JSON.stringify({ page: '/a', ts: 1_700_000_000_000 + seq }));
  return { data, subject: 'page.views.test.0', reply } as unknown as JsMsg;
}

/** A consume() whose messages are scripted: a message, or an error the iteration throws. `endless`: then it waits until stopped. */
class ScriptedMessages implements AsyncIterable<JsMsg> {
  private stopped = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly script: ReadonlyArray<JsMsg | Error>,
    private readonly endless = false,
  ) {}

  stop(error?: Error): void {
    this.stopped = true;
    this.failure = error;
    this.wake?.();
  }

  async close(): Promise<void> {
    this.stop();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<JsMsg> {
    for (const item of this.script) {
      if (this.stopped) break;
      if (item instanceof Error) throw item;
      yield item;
    }
    while (this.endless && !this.stopped) await new Promise<void>((resolve) => (this.wake = resolve));
    if (this.failure) throw this.failure;
  }
}

/** A consumer that hands out `messages` and answers info with `info` (or fails with it). */
function consumer(
  messages: ScriptedMessages,
  info: () => Promise<{ num_pending: number; num_ack_pending: number }> = async () => ({ num_pending: 0, num_ack_pending: 0 }),
) {
  return { consume: async () => messages, info } as unknown as Consumer;
}

interface Harness {
  feed: Feed;
  reader: ConsumerReader;
  /** The stream sequences opened at, in order. */
  opens: number[];
  logs: string[];
  stop: AbortController;
}

/** A reader over the consumers `open` hands out (pullLingerMs 0: consume()), into a feed with a sink that takes everything. */
function harness(open: (resumeSeq: number, attempt: number) => Promise<OpenedConsumer>): Harness {
  const settings = PipelineSettings.parse({ pullLingerMs: 0 });
  const writer = { write: async () => {} } as unknown as CutWriter;
  const feed = new Feed(new PipelineEngine(pageViewsPipeline, context), { settings, writer, startAfterSeq: 0 });
  const opens: number[] = [];
  const logs: string[] = [];
  const stop = new AbortController();
  const reader = new ConsumerReader({
    settings,
    open: (seq) => {
      opens.push(seq);
      return open(seq, opens.length);
    },
    signal: stop.signal,
    log: (message) => logs.push(message),
  });
  return { feed, reader, opens, logs, stop };
}

describe('ConsumerReader', () => {
  it('repositions the consumer right after the last message fed when a delivery is lost in transit', async () => {
    const { feed, reader, opens, logs } = harness(async (seq) =>
      seq === 1
        ? { consumer: consumer(new ScriptedMessages([delivered(1, 1), delivered(2, 2), delivered(4, 4)])), deliveredConsumerSeq: 0 }
        : { consumer: consumer(new ScriptedMessages([delivered(3, 1), delivered(4, 2)])), deliveredConsumerSeq: 0 },
    );
    await reader.read(feed);
    expect(opens).toEqual([1, 3]);
    expect(logs).toEqual(['a delivery was lost in transit (reconnect?): repositioning the consumer after stream seq 2']);
    expect({ lastSeq: feed.lastSeq, eventsIn: feed.eventsIn }).toEqual({ lastSeq: 4, eventsIn: 4 });
  });

  it('checks deliveries from where a reopened durable consumer stands', async () => {
    // An existing consumer exactly at the checkpoint: its next delivery is number 8, not 1.
    const { feed, reader, opens } = harness(async () => ({
      consumer: consumer(new ScriptedMessages([delivered(1, 8), delivered(2, 9)])),
      deliveredConsumerSeq: 7,
    }));
    await reader.read(feed);
    expect(opens).toEqual([1]);
    expect(feed.lastSeq).toBe(2);
  });

  it('recreates a consumer that is gone, and repositions after an interrupted pull', async () => {
    const scripts: Array<Array<JsMsg | Error>> = [
      [delivered(1, 1), new Error('consumer deleted')],
      [delivered(2, 1), new PullInterrupted(new Error('missed heartbeats'))],
      [delivered(3, 1)],
    ];
    const { feed, reader, opens, logs } = harness(async (_seq, attempt) => ({
      consumer: consumer(new ScriptedMessages(scripts[attempt - 1]!)),
      deliveredConsumerSeq: 0,
    }));
    await reader.read(feed);
    expect(opens).toEqual([1, 2, 3]);
    expect(logs).toEqual([
      'the consumer is gone (server restart, or deleted): recreating it after stream seq 1',
      'a pull was interrupted: Error: missed heartbeats: repositioning the consumer after stream seq 2',
    ]);
    expect(feed.lastSeq).toBe(3);
  });

  it('asks again while reopening fails (the server restarting), and rethrows what is not a broken read', async () => {
    let failures = 2;
    const { feed, reader, opens, logs } = harness(async (seq) => {
      if (seq === 1) return { consumer: consumer(new ScriptedMessages([delivered(1, 1), delivered(2, 3)])), deliveredConsumerSeq: 0 };
      if (failures-- > 0) throw new Error('no responders');
      return { consumer: consumer(new ScriptedMessages([delivered(2, 1), new Error('an operator failed')])), deliveredConsumerSeq: 0 };
    });
    await expect(reader.read(feed)).rejects.toThrow('an operator failed');
    expect(opens).toEqual([1, 2, 2, 2]);
    expect(logs).toEqual([
      'a delivery was lost in transit (reconnect?): repositioning the consumer after stream seq 1',
      expect.stringMatching(/^opening the consumer failed \(attempt 1\), retrying in 100 ms: Error: no responders/),
    ]);
    expect(feed.lastSeq).toBe(2);
  });

  it('returns once its signal aborts; a lost lease (interrupt) ends the reading with that error instead', async () => {
    const stopped = harness(async () => ({ consumer: consumer(new ScriptedMessages([delivered(1, 1)], true)), deliveredConsumerSeq: 0 }));
    const reading = stopped.reader.read(stopped.feed);
    await vi.waitFor(() => expect(stopped.feed.lastSeq).toBe(1));
    stopped.stop.abort();
    await reading;
    expect(stopped.opens).toEqual([1]);

    const taken = harness(async () => ({ consumer: consumer(new ScriptedMessages([delivered(1, 1)], true)), deliveredConsumerSeq: 0 }));
    const lost = new Error("lost the lease on 'pipeline.page_views_test'");
    const interrupted = taken.reader.read(taken.feed);
    await vi.waitFor(() => expect(taken.feed.lastSeq).toBe(1));
    taken.reader.interrupt(lost);
    await expect(interrupted).rejects.toBe(lost);
    expect(taken.opens).toEqual([1]);
  });

  it('keeps the consumer figures for the status, and stops reading a consumer that its info finds deleted', async () => {
    let gone = false;
    const info = async () => {
      if (gone) throw new Error('consumer not found');
      return { num_pending: 5, num_ack_pending: 7 };
    };
    const { feed, reader, opens } = harness(async (seq) =>
      seq === 1
        ? { consumer: consumer(new ScriptedMessages([delivered(1, 1)], true), info), deliveredConsumerSeq: 0 }
        : { consumer: consumer(new ScriptedMessages([delivered(2, 1)])), deliveredConsumerSeq: 0 },
    );
    const reading = reader.read(feed);
    await vi.waitFor(() => expect(feed.lastSeq).toBe(1));
    reader.refresh();
    await vi.waitFor(() => expect({ lag: reader.lag, ackPending: reader.ackPending }).toEqual({ lag: 5, ackPending: 7 }));
    gone = true;
    reader.refresh();
    await reading;
    expect(opens).toEqual([1, 2]);
    expect(feed.lastSeq).toBe(2);
  });
});
