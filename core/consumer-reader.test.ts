/** The read loop against scripted consumers: what it does when a delivery is lost, a pull breaks, the consumer goes away, or the run stops. */
import type { Consumer, JsMsg } from '@nats-io/jetstream';
import { errors } from '@nats-io/transport-node';
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

  /** As a fetch() given a `callback` hands the same script over: each message to it, the end (or the error) through `closed()`. */
  deliverTo(callback: (msg: JsMsg) => void): this {
    this.ended = (async () => {
      try {
        for await (const msg of this) callback(msg);
      } catch (error) {
        return error as Error;
      }
      return undefined;
    })();
    return this;
  }

  private ended: Promise<Error | undefined> | undefined;

  closed(): Promise<Error | undefined> {
    return this.ended ?? Promise.resolve(undefined);
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
  /** Whether each open was a reopening (the consumer's unacked messages are the reading's own). */
  reopenings: boolean[];
  logs: string[];
  stop: AbortController;
}

/** A reader over the consumers `open` hands out (pullLingerMs 0: consume()), into a feed with a sink that takes everything. */
function harness(open: (resumeSeq: number, attempt: number) => Promise<OpenedConsumer>, pullLingerMs = 0): Harness {
  const settings = PipelineSettings.parse({ pullLingerMs });
  const writer = { write: async () => {} } as unknown as CutWriter;
  const feed = new Feed(new PipelineEngine(pageViewsPipeline, context), { settings, writer, startAfterSeq: 0 });
  const opens: number[] = [];
  const reopenings: boolean[] = [];
  const logs: string[] = [];
  const stop = new AbortController();
  const reader = new ConsumerReader({
    settings,
    open: (seq, reopening) => {
      opens.push(seq);
      reopenings.push(reopening);
      return open(seq, opens.length);
    },
    signal: stop.signal,
    log: (message) => logs.push(message),
  });
  return { feed, reader, opens, reopenings, logs, stop };
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
    const { feed, reader, opens, reopenings, logs } = harness(async (_seq, attempt) => ({
      consumer: consumer(new ScriptedMessages(scripts[attempt - 1]!)),
      deliveredConsumerSeq: 0,
    }));
    await reader.read(feed);
    expect(opens).toEqual([1, 2, 3]);
    expect(reopenings).toEqual([false, true, true]);
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

  it('ends with a lease lost while the consumer is opened again, and reads nothing after it', async () => {
    const lost = new Error("lost the lease on 'pipeline.page_views_test'");
    // The lease is lost while the consumer that went away is being recreated (no reading in progress).
    const { feed, reader, opens } = harness(async (_seq, attempt) => {
      if (attempt === 1) return { consumer: consumer(new ScriptedMessages([delivered(1, 1), new Error('consumer deleted')])), deliveredConsumerSeq: 0 };
      reader.interrupt(lost);
      return { consumer: consumer(new ScriptedMessages([delivered(2, 1)], true)), deliveredConsumerSeq: 0 };
    });
    await expect(reader.read(feed)).rejects.toBe(lost);
    expect(opens).toEqual([1, 2]);
    expect(feed.lastSeq).toBe(1);

    // Lost while opening it again fails (the server restarting): the retries end with it.
    let attempts = 0;
    const retrying = harness(async () => {
      attempts++;
      if (attempts === 1) return { consumer: consumer(new ScriptedMessages([delivered(1, 1), new Error('consumer deleted')])), deliveredConsumerSeq: 0 };
      if (attempts === 3) retrying.reader.interrupt(lost);
      throw new Error('no responders');
    });
    await expect(retrying.reader.read(retrying.feed)).rejects.toBe(lost);
    expect(attempts).toBe(3);
    expect(retrying.feed.lastSeq).toBe(1);
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
  it('waits while the server cannot answer its first open (a cluster electing leaders), and fails at once on anything else', async () => {
    let unavailable = 2;
    const waited = harness(async () => {
      if (unavailable-- > 0) throw new errors.TimeoutError();
      return { consumer: consumer(new ScriptedMessages([delivered(1, 1)])), deliveredConsumerSeq: 0 };
    });
    await waited.reader.read(waited.feed);
    expect(waited.opens).toEqual([1, 1, 1]);
    expect(waited.feed.lastSeq).toBe(1);

    const wrong = harness(async () => Promise.reject(new Error('consumer filter subject is not a valid subset of the interest subjects')));
    await expect(wrong.reader.read(wrong.feed)).rejects.toThrow('not a valid subset');
    expect(wrong.opens).toEqual([1]);
  });

  it("ends a standing pull when the consumer's leader moves (its server lost), and reopens it where the feed stands", async () => {
    let leader = 'nats-1';
    const info = async () => ({ num_pending: 0, num_ack_pending: 1, cluster: { leader } });
    const { feed, reader, opens, reopenings, logs } = harness(async (seq) =>
      seq === 1
        ? { consumer: consumer(new ScriptedMessages([delivered(1, 1)], true), info), deliveredConsumerSeq: 0 }
        : { consumer: consumer(new ScriptedMessages([delivered(2, 2)]), info), deliveredConsumerSeq: 1 },
    );
    const reading = reader.read(feed);
    await vi.waitFor(() => expect(feed.lastSeq).toBe(1));
    reader.refresh(); // the same leader: nothing happens
    await vi.waitFor(() => expect(reader.ackPending).toBe(1));
    expect(opens).toEqual([1]);
    leader = 'nats-2';
    reader.refresh();
    await reading;
    expect(opens).toEqual([1, 2]);
    expect(reopenings).toEqual([false, true]);
    expect(logs).toEqual([
      "the consumer's leader moved from nats-1 to nats-2: pulling again",
      "a pull was interrupted: Error: the consumer's leader moved from nats-1 to nats-2: repositioning the consumer after stream seq 1",
    ]);
    expect(feed.lastSeq).toBe(2);
  });

  it('pulls again on the same consumer when its leader moves during a batched pull that the old leader held', async () => {
    let leader = 'nats-1';
    const fetches: Array<{ stopped: boolean }> = [];
    // A message as a pull delivers it: with the consumer's pending count after it.
    const pulled = (seq: number, pending: number): JsMsg => Object.assign(delivered(seq, seq), { info: { pending } });
    // The first pull brings message 1 (one more waiting); the second is held by a leader that is then lost: it never answers.
    const fetch = async ({ callback }: { callback: (msg: JsMsg) => void }) => {
      const pull = { stopped: false };
      fetches.push(pull);
      const script = fetches.length === 1 ? [pulled(1, 1)] : fetches.length === 3 ? [pulled(2, 0)] : [];
      const messages = new ScriptedMessages(script, fetches.length === 2);
      const stop = messages.stop.bind(messages);
      messages.stop = (error?: Error) => {
        pull.stopped = true;
        stop(error);
      };
      return messages.deliverTo(callback);
    };
    const info = async () => ({ num_pending: fetches.length < 3 ? 1 : 0, num_ack_pending: 0, cluster: { leader } });
    const batched = { fetch, info } as unknown as Consumer;
    const { feed, reader, opens, logs } = harness(async () => ({ consumer: batched, deliveredConsumerSeq: 0 }), 10);
    const reading = reader.read(feed);
    await vi.waitFor(() => expect(fetches).toHaveLength(2));
    leader = 'nats-3';
    reader.refresh();
    await vi.waitFor(() => expect(feed.lastSeq).toBe(2));
    expect(fetches[1]!.stopped).toBe(true);
    expect(opens).toEqual([1]);
    expect(logs).toEqual(["the consumer's leader moved from nats-1 to nats-3: pulling again"]);
    reader.interrupt(new Error('done'));
    await expect(reading).rejects.toThrow('done');
  });
});
