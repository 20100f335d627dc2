import type { Consumer, ConsumerMessages } from '@nats-io/jetstream';
import { logRetries, retry } from '../common/retry.ts';
import { BatchedPull, PullInterrupted } from '../sources/batched-pull.ts';
import { isConsumerGone, type OpenedConsumer } from '../sources/durable-consumer.ts';
import { isUnavailable } from '../sources/unavailable.ts';
import type { Feed } from './feed.ts';
import type { PipelineSettings } from './pipeline.ts';

export interface ConsumerReaderOptions {
  settings: Pick<PipelineSettings, 'pullBatch' | 'pullLingerMs'>;
  /**
   * Open (or reposition, or recreate) the consumer to deliver `resumeSeq` next. `reopening`: this
   * reading opened it before, so messages it has not acked before `resumeSeq` are its own (the next
   * checkpoint's ack covers them).
   */
  open: (resumeSeq: number, reopening: boolean) => Promise<OpenedConsumer>;
  /** Aborting stops reading: `read` resolves (the caller writes the last cut). */
  signal: AbortSignal;
  log: (message: string) => void;
}

/**
 * Reads a pull consumer into a feed, in stream order: with `BatchedPull` (or a standing `consume()`
 * when `pullLingerMs` is 0), every delivery checked to carry the next delivery sequence.
 *
 * When the reading breaks — a delivery lost in transit (a gap: acking past it would ack a message
 * never processed), a pull interrupted, or the consumer gone (a server restart, or deleted) — the
 * feed's state and buffered rows stay as they are and the consumer is opened again right after the
 * feed's last sequence, so what was lost comes again and no ack can pass it. Opening is retried
 * while the server does not answer (it may be restarting, or its cluster electing a leader).
 *
 * On a cluster the consumer has a leader, which holds the pulls; when it moves (its server lost),
 * a pull it held is never answered. `refresh` notices the move and pulls again (see `BatchedPull.repull`).
 */
export class ConsumerReader {
  /** The consumer's backlog and unacked count when last asked (see `refresh`). */
  lag = 0;
  ackPending = 0;
  private consumer: Consumer | undefined;
  /** The reading in progress, if any. */
  private consuming: ConsumerMessages | BatchedPull | undefined;
  /**
   * Set by `interrupt`, kept for the next reading when there is none in progress (the consumer
   * being opened again): a lease lost then was forgotten, and the run read on without it.
   */
  private interruption: Error | undefined;
  private readonly interrupted = new AbortController();
  /** The server leading the consumer when last asked (on a cluster; one server alone leads it too). */
  private leader: string | undefined;

  constructor(private readonly options: ConsumerReaderOptions) {}

  /** Read until the messages end (a bounded replay's last) or `signal` aborts. Rejects with what `feed.run` throws otherwise (a fatal error). */
  async read(feed: Feed): Promise<void> {
    const { open, signal, log } = this.options;
    // Opening is retried until the run stops, or is interrupted.
    const opening = AbortSignal.any([signal, this.interrupted.signal]);
    let opened: OpenedConsumer;
    try {
      // A server that cannot answer yet (a cluster electing its leaders) is waited for; a wrong definition fails at once.
      opened = await retry(() => open(feed.lastSeq + 1, false), {
        signal: opening,
        retryable: isUnavailable,
        onRetry: logRetries(log, 'opening the consumer'),
      });
    } catch (error) {
      if (this.interruption) throw this.interruption;
      if (signal.aborted) return;
      throw error;
    }
    for (;;) {
      const outcome = await this.readOnce(feed, opened);
      if (outcome === 'done' || signal.aborted) return;
      if (this.interruption) throw this.interruption;
      const why =
        outcome === 'gap'
          ? 'a delivery was lost in transit (reconnect?)'
          : outcome === 'gone'
            ? 'the consumer is gone (server restart, or deleted)'
            : outcome.message;
      log(`${why}: ${outcome === 'gone' ? 'recreating it' : 'repositioning the consumer'} after stream seq ${feed.lastSeq}`);
      try {
        opened = await retry(() => open(feed.lastSeq + 1, true), { signal: opening, onRetry: logRetries(log, 'opening the consumer') });
      } catch (error) {
        if (this.interruption) throw this.interruption;
        if (signal.aborted) return;
        throw error;
      }
    }
  }

  /** End the reading with `error` (a lost lease), the one in progress or the next: `read` rejects with it. */
  interrupt(error: Error): void {
    this.interruption ??= error;
    this.interrupted.abort();
    this.consuming?.stop(error);
  }

  /**
   * Ask the consumer for its backlog and unacked count. A consumer found deleted ends the reading
   * in progress at once (it is recreated); nats.js alone notices only after missed heartbeats, ~30 s.
   * So does a consumer found led by another server than before: the pull in flight is asked again.
   */
  refresh(): void {
    const { consumer } = this;
    if (consumer === undefined) return;
    const watched = this.consuming;
    consumer.info(false).then(
      (info) => {
        this.lag = info.num_pending;
        this.ackPending = info.num_ack_pending;
        const leader = info.cluster?.leader;
        if (watched === undefined || watched !== this.consuming || leader === undefined) return;
        const before = this.leader;
        this.leader = leader;
        if (before !== undefined && before !== leader) this.leaderMoved(watched, before, leader);
      },
      (error: unknown) => {
        if (watched !== undefined && watched === this.consuming && isConsumerGone(error)) watched.stop(error as Error);
      },
    );
  }

  /**
   * The consumer's leader changed from `from` to `to`: a pull the old one held is lost. Batched
   * pulls ask again on the same consumer; a standing pull (`consume()`) ends, and the consumer is
   * opened again after the last message fed.
   */
  private leaderMoved(reading: ConsumerMessages | BatchedPull, from: string, to: string): void {
    const why = `the consumer's leader moved from ${from} to ${to}`;
    this.options.log(`${why}: pulling again`);
    if (reading instanceof BatchedPull) reading.repull();
    else reading.stop(new PullInterrupted(new Error(why)));
  }

  /** One reading of the consumer, until it ends or breaks; closed after. */
  private async readOnce(feed: Feed, { consumer, deliveredConsumerSeq }: OpenedConsumer): Promise<'done' | 'gap' | 'gone' | PullInterrupted> {
    const { settings, signal } = this.options;
    this.consumer = consumer;
    // Who leads it as it was opened (nats.js keeps the info it was opened with): a move from there shows in `refresh`.
    this.leader = (await consumer.info(true).catch(() => undefined))?.cluster?.leader;
    // A missing consumer ends the reading (instead of waiting for it to reappear): it is recreated.
    const messages =
      settings.pullLingerMs > 0
        ? new BatchedPull(consumer, { batch: settings.pullBatch, lingerMs: settings.pullLingerMs })
        : await consumer.consume({ max_messages: settings.pullBatch, abort_on_missing_resource: true });
    this.consuming = messages;
    // Interrupted while the consumer was being opened: this reading ends at once.
    if (this.interruption) messages.stop(this.interruption);
    const onAbort = (): void => void messages.stop();
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();
    let outcome: 'done' | 'gap' | 'gone' | PullInterrupted;
    try {
      outcome = await feed.run(messages, deliveredConsumerSeq);
    } catch (error) {
      if (signal.aborted || !(isConsumerGone(error) || error instanceof PullInterrupted)) throw error;
      outcome = error instanceof PullInterrupted ? error : 'gone';
    } finally {
      this.consuming = undefined;
      signal.removeEventListener('abort', onAbort);
    }
    await messages.close().catch(() => {});
    return outcome;
  }
}
