import type { JsMsg } from '@nats-io/jetstream';
import type { CutWriter } from './cut-writer.ts';
import type { Cut, PipelineEngine } from './engine.ts';
import type { PipelineSettings } from './pipeline.ts';

/** The source position a cut covers: everything up to `seq` (the message `msg`) is in it. */
export interface CutPosition {
  readonly seq: number;
  readonly msg: JsMsg | undefined;
}

export interface FeedOptions {
  settings: PipelineSettings;
  writer: CutWriter;
  /** Last sequence already folded into the engine's state (from the checkpoint); earlier ones are skipped. */
  startAfterSeq: number;
  /** Whether the next cut should carry a state snapshot (the live runner checkpoints with it). */
  wantSnapshot?: () => boolean;
  /** Runs after a cut is written, strictly in cut order: checkpoint and ack for the live runner. */
  afterWrite?: (cut: Cut, position: CutPosition) => Promise<void>;
  /** Stop before this message (bounded replay). */
  isPastEnd?: (msg: JsMsg) => boolean;
  /** Stop after this message (bounded replay: its last message). */
  isLast?: (msg: JsMsg) => boolean;
}

/**
 * Feeds source messages into the engine in stream order and writes consistent cuts.
 *
 * Cuts happen every `flushIntervalMs`, when `flushRows` rows are buffered, and at the end. Cuts
 * are written strictly one after another: a checkpoint (in `afterWrite`) must never be saved
 * before every earlier cut is durable. While cuts wait for the sink, the loop keeps consuming
 * until `maxBufferedRows` rows are buffered, then it stops pulling: a slow or dead ClickHouse
 * slows consumption down instead of growing memory.
 */
export class Feed {
  lastSeq: number;
  lastMsg: JsMsg | undefined;
  eventsIn = 0;
  flushes = 0;
  lastFlushMs = 0;
  private chain: Promise<void> = Promise.resolve();
  private queued: Promise<void> | undefined;
  private paused: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly engine: PipelineEngine,
    private readonly options: FeedOptions,
  ) {
    this.lastSeq = options.startAfterSeq;
  }

  /**
   * Consume until the messages end, `isPastEnd` says so, or the engine fails. Does not write the
   * last cut. With `deliveredAfter` (the consumer's last delivery sequence), every delivery must
   * carry the next sequence: a gap means a delivery was lost in transit (e.g. on a reconnect), and
   * acking past it (AckPolicy.All) would ack a message never processed. Then it returns 'gap' and
   * the caller repositions the consumer right after `lastSeq`.
   */
  async run(messages: AsyncIterable<JsMsg>, deliveredAfter?: number): Promise<'done' | 'gap'> {
    let delivered = deliveredAfter;
    const { engine } = this;
    const { settings, isPastEnd, isLast } = this.options;
    this.timer = setInterval(() => {
      if (!this.paused) this.commit().catch(() => {});
    }, settings.flushIntervalMs);
    try {
      for await (const msg of messages) {
        if (this.paused) await this.paused;
        if (engine.error) throw engine.error;
        if (delivered !== undefined) {
          const info = msg.info;
          if (info.deliverySequence !== delivered + 1) return 'gap';
          delivered = info.deliverySequence;
        }
        const seq = msg.seq;
        // Already folded into state (e.g. redelivered after ack_wait while ClickHouse was down).
        if (seq <= this.lastSeq) continue;
        if (isPastEnd?.(msg)) break;
        engine.push({ payload: msg.data, subject: msg.subject, seq, published: Math.floor(msg.info.timestampNanos / 1e6) });
        this.lastSeq = seq;
        this.lastMsg = msg;
        this.eventsIn++;
        if (engine.pending() > settings.maxPendingAsync) await engine.idle();
        if (engine.bufferedRows >= settings.flushRows) {
          const committing = this.commit();
          if (engine.bufferedRows >= settings.maxBufferedRows) await committing;
        }
        if (isLast?.(msg)) break;
      }
    } finally {
      clearInterval(this.timer);
    }
    if (engine.error) throw engine.error;
    return 'done';
  }

  /**
   * Queue a cut: wait until async operators are idle, take it, write it, then `afterWrite`.
   * One cut waiting behind the running one is enough: it takes everything buffered by then.
   */
  commit(force = false): Promise<void> {
    if (this.queued && !force) return this.queued;
    const next = this.chain.then(async () => {
      if (this.queued === next) this.queued = undefined;
      let resume!: () => void;
      this.paused = new Promise((r) => (resume = r));
      let cut: Cut;
      let position: CutPosition;
      try {
        await this.engine.idle();
        cut = this.engine.cut(force || (this.options.wantSnapshot?.() ?? false));
        position = { seq: this.lastSeq, msg: this.lastMsg };
      } finally {
        this.paused = undefined;
        resume();
      }
      const started = Date.now();
      await this.options.writer.write(cut);
      this.flushes++;
      this.lastFlushMs = Date.now() - started;
      await this.options.afterWrite?.(cut, position);
    });
    this.queued = next;
    this.chain = next;
    return next;
  }
}
