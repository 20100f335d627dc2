import type { Consumer, ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import { isConsumerGone } from './durable-consumer.ts';
import type { MessageBatches } from './message-batches.ts';
import { isUnavailable } from './unavailable.ts';

export interface BatchedPullOptions {
  /** Most messages one pull asks for; at most about twice this many wait in memory to be read. */
  batch: number;
  /** With nothing waiting, how long to let messages accumulate before the next pull. */
  lingerMs: number;
  /**
   * How long a pull waits for messages it asked for that are not there (none, unless the stream
   * dropped some by its limits); nats.js fails a pull after two missed server heartbeats, sent every
   * half of this, so it is also how long the event loop may stall under load before a pull is
   * taken for lost. @default 30_000
   */
  expiresMs?: number;
}

const MAX_RETRY_DELAY_MS = 2_000;
/** Most messages `batches()` hands over at once. */
const BATCH_MAX = 64;

/**
 * A pull failed on the way (a reconnect, missed heartbeats): some of what it asked for may never
 * arrive, so the consumer must be repositioned after the last message processed.
 */
export class PullInterrupted extends Error {
  constructor(cause: unknown) {
    super(`a pull was interrupted: ${String(cause)}`, { cause });
    this.name = 'PullInterrupted';
  }
}

/**
 * The messages of a durable pull consumer, pulled only when they are already waiting, so the server
 * delivers each pull's messages at once.
 *
 * Why not `consume()`: its pull request stays open, so a pipeline that keeps up is handed every
 * message the moment it is stored, one delivery (a write, a wakeup of the server and of this
 * process) per message. At 20k messages/s nats-server 2.9 spent ~17-31 µs of CPU per message on
 * that, beside ~12 to store it; pulling what had accumulated every 100 ms, ~9. Here a pull asks for
 * what the consumer says is waiting (its pending count, read off the last delivery or asked for with
 * a consumer info), and when nothing is, the next pull waits `lingerMs`: up to that much latency,
 * for a fraction of the delivery cost.
 *
 * Messages are taken off the connection as they arrive, into a queue the iteration reads, and the
 * next pull goes out as soon as the last one's messages are in, while they are still being read: a
 * backfill does not wait a round trip per batch. One pull at a time: nats-server hands a consumer's
 * waiting pulls messages in turn, so two at once would split the stream between them. And nats.js
 * watches a pull's heartbeats until its messages are read, not received: a pull read after a long
 * cut would fail although everything it asked for had come.
 *
 * A deleted consumer ends the iteration with the server's error (see `isConsumerGone`), a pull that
 * fails otherwise with `PullInterrupted`, each after the messages received before it. On a cluster,
 * a pull is held by the consumer's leader: when the leader changes, `repull()` drops the pull in
 * flight (the new leader never heard of it) and asks again, keeping what was received.
 */
export class BatchedPull implements AsyncIterable<JsMsg>, MessageBatches {
  private halted = false;
  private failure: Error | undefined;
  /** Received and not yet read: `queue[head]` onwards. */
  private queue: Array<JsMsg | undefined> = [];
  private head = 0;
  private pumpDone = false;
  /** The pull in flight. */
  private pull: ConsumerMessages | undefined;
  /** Wakes the reader (a message came, or the pump ended), the pump (room in the queue), a linger. */
  private wakeReader: (() => void) | undefined;
  /** A wake of the reader is scheduled (see `wakeReaderSoon`). */
  private wakeScheduled = false;
  private wakePump: (() => void) | undefined;
  private wakeLinger: (() => void) | undefined;

  constructor(
    private readonly consumer: Consumer,
    private readonly options: BatchedPullOptions,
  ) {}

  /** End the iteration now; with an error, the iteration throws it. */
  stop(error?: Error): void {
    if (this.halted) return;
    this.halted = true;
    this.failure = error;
    this.pull?.stop();
    for (const wake of [this.wakeReader, this.wakePump, this.wakeLinger]) wake?.();
  }

  /**
   * Drop the pull in flight, if any, and pull again: the consumer's leader changed (a server of a
   * cluster lost), and a pull the old leader held is never answered; nats.js would notice only
   * after two missed heartbeats, 30 s. What was received stays queued. A message the old leader
   * sent that never arrives shows as a gap in the delivery sequence (core/feed.ts).
   */
  repull(): void {
    this.pull?.stop();
  }

  /** As `stop()`: what is not read yet is dropped (the consumer is repositioned before it is used again). */
  async close(): Promise<void> {
    this.stop();
  }

  /** Whether `stop()` was called (or the iteration ended). */
  get stopped(): boolean {
    return this.halted;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<JsMsg> {
    for await (const batch of this.batches()) {
      for (const msg of batch) {
        if (this.halted) return;
        yield msg;
      }
    }
  }

  /**
   * The messages as they are received, in batches of at most BATCH_MAX of those queued (the feed
   * reads a batch in one go; an await per message cost a promise and a microtask each).
   */
  async *batches(): AsyncGenerator<JsMsg[]> {
    void this.pump().then(
      () => this.pumped(undefined),
      (error: unknown) => this.pumped(error instanceof Error ? error : new Error(String(error))),
    );
    try {
      while (!this.halted) {
        if (this.head < this.queue.length) {
          // A few at a time, their slots cleared: a message read is garbage at once, not kept alive
          // by a large batch until its end (a minor GC meanwhile would promote the rest of it).
          const end = Math.min(this.queue.length, this.head + BATCH_MAX);
          const batch = this.queue.slice(this.head, end) as JsMsg[];
          this.queue.fill(undefined, this.head, end);
          this.head = end;
          if (this.head === this.queue.length) {
            this.queue = [];
            this.head = 0;
          } else if (this.head >= 4_096 && this.head * 2 >= this.queue.length) {
            this.queue = this.queue.slice(this.head);
            this.head = 0;
          }
          if (this.wakePump && this.queue.length - this.head < this.options.batch) this.wakePump();
          yield batch;
        } else if (this.pumpDone) {
          break;
        } else {
          await new Promise<void>((resolve) => (this.wakeReader = resolve));
          this.wakeReader = undefined;
        }
      }
    } finally {
      this.stop(this.failure);
    }
    if (this.failure) throw this.failure;
  }

  /**
   * Wake a waiting reader once the messages parsed so far are queued: nats.js hands them over one
   * per microtask, and waking the reader at each would have it take batches of one. A macrotask runs
   * after those microtasks, so the reader takes all that one socket read brought.
   */
  private wakeReaderSoon(): void {
    if (this.wakeReader === undefined || this.wakeScheduled) return;
    this.wakeScheduled = true;
    setImmediate(() => {
      this.wakeScheduled = false;
      this.wakeReader?.();
    });
  }

  private pumped(error: Error | undefined): void {
    this.pumpDone = true;
    if (error && !this.halted) this.failure = error;
    this.wakeReader?.();
  }

  /** Pulls into the queue until stopped: what is waiting, at most `batch` at a time, when there is room. */
  private async pump(): Promise<void> {
    const { batch, lingerMs, expiresMs = 30_000 } = this.options;
    let waiting = await this.waiting();
    while (!this.halted) {
      if (waiting === 0) {
        await this.wait((wake) => (this.wakeLinger = wake), lingerMs);
        if (!this.halted) waiting = await this.waiting();
        continue;
      }
      if (this.queue.length - this.head >= batch) {
        await this.wait((wake) => (this.wakePump = wake));
        continue;
      }
      const asked = Math.min(waiting, batch);
      let last: JsMsg | undefined;
      // Each message handed over in the subscription's callback, as it is parsed. nats.js's fetch()
      // takes consume()'s `callback` (the same implementation; its type does not say so): without it
      // every message went through an async iterator, a promise and a microtask each (0.5 µs of CPU
      // per event in the noop peer, 0.3 in the pipeline). The pull's end, or its error, comes
      // through `closed()`.
      const take = (msg: JsMsg): void => {
        last = msg;
        this.queue.push(msg);
        this.wakeReaderSoon();
      };
      const options = { max_messages: asked, expires: expiresMs, callback: take };
      this.pull = await this.consumer.fetch(options);
      if (this.halted) this.pull.stop();
      try {
        const ended = await this.pull.closed();
        if (ended) throw ended;
      } catch (error) {
        throw isConsumerGone(error) ? error : new PullInterrupted(error);
      } finally {
        this.pull = undefined;
      }
      // Nothing else was in flight: what was still waiting when the last message left the server.
      waiting = last === undefined ? 0 : last.info.pending;
    }
  }

  /** The consumer's count of messages not yet delivered; asked again while the server does not answer (a restart, a reconnect, an election). */
  private async waiting(): Promise<number> {
    for (let attempt = 0; ; attempt++) {
      try {
        return (await this.consumer.info(false)).num_pending;
      } catch (error) {
        if (!isUnavailable(error) || this.halted) throw error;
        await this.wait((wake) => (this.wakeLinger = wake), Math.min(MAX_RETRY_DELAY_MS, 100 * 2 ** attempt));
        if (this.halted) return 0;
      }
    }
  }

  /** Resolves when woken through `register`, on `stop()`, or after `ms` if given. */
  private wait(register: (wake: () => void) => void, ms?: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(done, ms);
      const self = this;
      function done(): void {
        clearTimeout(timer);
        self.wakeLinger = self.wakePump = undefined;
        resolve();
      }
      register(done);
    });
  }
}
