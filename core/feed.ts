import type { JsMsg } from '@nats-io/jetstream';
import type { MsgHdrs } from '@nats-io/transport-node';
import { type Delivery, readDelivery } from '../sources/delivery.ts';
import { isMessageBatches, type MessageBatches, oneByOne } from '../sources/message-batches.ts';
import type { SnapshotBuffers } from '../state/snapshot-buffers.ts';
import type { CutTrace, CutTracing } from './cut-tracing.ts';
import type { CutWriter } from './cut-writer.ts';
import type { Cut, PipelineEngine, SourceRecord } from './engine.ts';
import type { PipelineSettings } from './pipeline.ts';

/** The source position a cut covers: everything up to `seq` (the message `msg`) is in it. */
export interface CutPosition {
  readonly seq: number;
  readonly msg: JsMsg | undefined;
  /** The cut's spans, when it was sampled (core/cut-tracing.ts): its checkpoint and ack are traced under them. */
  readonly trace?: CutTrace | undefined;
}

/**
 * What the feed asks of whoever keeps its checkpoints (the live runner's `Checkpointer`,
 * core/checkpointer.ts): whether a cut should carry a snapshot, the memory to take it into, and to
 * save it once the cut is written.
 */
export interface Checkpoints {
  /**
   * Whether the cut about to be taken, with everything up to `lastSeq` in it, should carry a state
   * snapshot. `final`: the last cut, taken once no save is in flight (see `settled`).
   */
  due(lastSeq: number, final: boolean): boolean;
  /** The memory the engine takes the snapshot's columns from (given back once it is saved). */
  readonly buffers: SnapshotBuffers;
  /**
   * Save a snapshot-carrying cut's checkpoint, its rows (and every earlier cut's) written: called
   * on the write chain, it runs off it, behind the save in flight if any. Rejects when the save
   * fails (and `failure` says so from then on).
   */
  save(cut: Cut, position: CutPosition): Promise<void>;
  /** Resolves once no save is in flight (never rejects). */
  settled(): Promise<void>;
  /** The first save that failed, if any: the feed stops on it. */
  readonly failure: unknown;
}

export interface FeedOptions {
  settings: PipelineSettings;
  writer: CutWriter;
  /** Last sequence already folded into the engine's state (from the checkpoint); earlier ones are skipped. */
  startAfterSeq: number;
  /** Checkpoints cuts (the live runner); without it, no cut carries a snapshot (replay). */
  checkpoints?: Checkpoints;
  /** Stop before this message (bounded replay). */
  isPastEnd?: (msg: JsMsg) => boolean;
  /** Stop after this message (bounded replay: its last message). */
  isLast?: (msg: JsMsg) => boolean;
  /** Traces each cut (core/cut-tracing.ts); absent while no tracer provider is registered, and then no message is looked at for it. */
  tracing?: CutTracing | undefined;
}

/**
 * Feeds source messages into the engine in stream order and writes consistent cuts.
 *
 * Cuts happen every `flushIntervalMs` (`backlogFlushIntervalMs` while catching up: a backlog
 * beyond one pull batch, `backlogLagMs` behind), when `flushRows` rows are buffered, and at the end. Cuts
 * are written strictly one after another: a checkpoint must never be saved before its cut and
 * every earlier one are durable. While cuts wait for the sink, the loop keeps consuming
 * until `maxBufferedRows` rows and side outputs are buffered, then it stops pulling: a slow or
 * dead ClickHouse slows consumption down instead of growing memory.
 *
 * Checkpoints are saved behind the writes, not in their chain: saving a large state takes a while,
 * and the cuts after it need not wait (their rows are idempotent rewrites if the checkpoint never
 * lands). At most one checkpoint is in flight (the checkpointer wants no snapshot while one is);
 * the next snapshot is taken after it is saved.
 */
export class Feed {
  lastSeq: number;
  lastMsg: JsMsg | undefined;
  eventsIn = 0;
  flushes = 0;
  lastFlushMs = 0;
  private chain: Promise<void> = Promise.resolve();
  /** When windows last emitted early results (see `earlyResultsIntervalMs`). */
  private lastEarlyAt = 0;
  /** When the last cut was taken (performance.now()); the consumer's backlog at the last message, and its publish time (epoch ms). */
  private lastCutAt = 0;
  private backlog = 0;
  private lastPublishedMs = 0;
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
  async run(messages: AsyncIterable<JsMsg> | MessageBatches, deliveredAfter?: number): Promise<'done' | 'gap'> {
    let delivered = deliveredAfter;
    const delivery: Delivery = { streamSeq: 0, deliverySeq: 0, publishedMs: 0, pending: 0 };
    const { engine } = this;
    const { settings, isPastEnd, isLast, tracing } = this.options;
    const backlogInterval = Math.max(settings.flushIntervalMs, settings.backlogFlushIntervalMs);
    this.timer = setInterval(() => {
      if (this.paused) return;
      // Catching up (a backlog beyond what one pull brings, and well behind): fewer, larger cuts.
      const catchingUp = this.backlog > settings.pullBatch && Date.now() - this.lastPublishedMs > settings.backlogLagMs;
      if (catchingUp && performance.now() - this.lastCutAt < backlogInterval) return;
      this.commit().catch(() => {});
    }, settings.flushIntervalMs);
    // Batches where the source hands them over (BatchedPull): one await per batch, not per message.
    const source = isMessageBatches(messages) ? messages : oneByOne(messages);
    try {
      reading: for await (const batch of source.batches()) {
        for (let i = 0; i < batch.length; i++) {
          // Stopped (shutdown, a deleted consumer): the rest of the batch is dropped, as unread messages are.
          if (source.stopped) break;
          const msg = batch[i]!;
          if (this.paused) await this.paused;
          if (engine.error) throw engine.error;
          if (this.options.checkpoints?.failure) throw this.options.checkpoints.failure;
          deliveryOf(msg, delivery);
          if (delivered !== undefined) {
            if (delivery.deliverySeq !== delivered + 1) return 'gap';
            delivered = delivery.deliverySeq;
          }
          const seq = delivery.streamSeq;
          // Already folded into state (e.g. redelivered after ack_wait while ClickHouse was down).
          if (seq <= this.lastSeq) continue;
          if (isPastEnd?.(msg)) break reading;
          const record = new MessageRecord(msg, seq, delivery.publishedMs);
          engine.push(record);
          if (tracing !== undefined) tracing.observe(seq, record.header);
          // A failure at this message (a first row that does not fit its table) stops the run before its next pull.
          if (engine.error) throw engine.error;
          this.lastSeq = seq;
          this.lastMsg = msg;
          this.backlog = delivery.pending;
          this.lastPublishedMs = delivery.publishedMs;
          this.eventsIn++;
          if (engine.pending() > settings.maxPendingAsync) await engine.idle();
          const rows = engine.bufferedRows;
          const sideOutputs = engine.bufferedSideOutputs;
          if (rows >= settings.flushRows || sideOutputs >= settings.flushRows) {
            const committing = this.commit();
            // Dead letters count too: a flood of bad input while ClickHouse is down must not grow memory.
            if (rows + sideOutputs >= settings.maxBufferedRows) await committing;
          }
          if (isLast?.(msg)) break reading;
        }
      }
    } finally {
      clearInterval(this.timer);
    }
    if (engine.error) throw engine.error;
    return 'done';
  }

  /**
   * Queue a cut: wait until async operators are idle, take it, write it, then start saving its
   * checkpoint if it carries a snapshot. One cut waiting behind the running one is enough: it takes
   * everything buffered by then. `force` (the last cut) emits every early result and snapshots,
   * and resolves once that checkpoint is saved too.
   */
  commit(force = false): Promise<void> {
    if (this.queued && !force) return this.queued;
    const { checkpoints, tracing } = this.options;
    const next = this.chain.then(async () => {
      if (this.queued === next) this.queued = undefined;
      // The last cut snapshots even while a checkpoint is being saved: wait for that one, so its
      // snapshot's memory serves this one (state/snapshot-buffers.ts) instead of a second copy
      // of the state beside it (~25 MB at the clickstream's state).
      if (force) await checkpoints?.settled();
      let resume!: () => void;
      this.paused = new Promise((r) => (resume = r));
      let cut: Cut;
      let position: CutPosition;
      let trace: CutTrace | undefined;
      try {
        await this.engine.idle();
        // Only when something saves it (replay's last cut needs none).
        const snapshot = checkpoints?.due(this.lastSeq, force) ?? false;
        const now = Date.now();
        // A checkpoint cut always includes them: once input is acked, every row it led to is written.
        // So does a cut with a batch of side outputs waiting (a flood of bad input).
        const { earlyResultsIntervalMs, flushRows } = this.options.settings;
        const early = force || snapshot || now - this.lastEarlyAt >= earlyResultsIntervalMs || this.engine.bufferedSideOutputs >= flushRows;
        if (early) this.lastEarlyAt = now;
        cut = this.engine.cut(snapshot ? checkpoints?.buffers : undefined, early);
        this.lastCutAt = performance.now();
        trace = tracing?.take([...cut.deadLetters, ...cut.late], cut.snapshot !== undefined);
        position = { seq: this.lastSeq, msg: this.lastMsg, trace };
      } finally {
        this.paused = undefined;
        resume();
      }
      const started = Date.now();
      await this.options.writer.write(cut, trace);
      this.flushes++;
      this.lastFlushMs = Date.now() - started;
      if (!cut.snapshot || !checkpoints) return;
      // Off the chain: the next cuts are written meanwhile. A failure stops `run` (see `failure`).
      const saving = checkpoints.save(cut, position);
      if (force) await saving;
      else saving.catch(() => {});
    });
    this.queued = next;
    this.chain = next;
    return next;
  }
}

/** A message as the engine sees it. The subject is decoded (a string per message) only if a dead letter or late event needs it. */
class MessageRecord implements SourceRecord {
  readonly payload: Uint8Array;
  /**
   * A header by name, in any case (CloudEvents' NATS binding writes `ce-*` in lower case, others may
   * not); undefined for a message without headers, so validate looks for no version in it.
   */
  readonly header: ((name: string) => string | undefined) | undefined;

  constructor(
    private readonly msg: JsMsg,
    readonly seq: number,
    readonly published: number,
  ) {
    this.payload = msg.data;
    // nats.js decodes headers when first asked for; a message without any has none to decode.
    const headers = msg.headers;
    this.header = headers === undefined ? undefined : headerReader(headers);
  }

  get subject(): string {
    return this.msg.subject;
  }
}

/**
 * A message's headers by lower-case name, indexed on the first lookup: nats.js looks a name up by
 * listing and comparing every key (lower-casing each to ignore case), per lookup, and a message is
 * asked for several (its version, CloudEvents' attributes, `traceparent` while tracing).
 */
function headerReader(headers: MsgHdrs): (name: string) => string | undefined {
  let byName: Map<string, string> | undefined;
  return (name) => {
    if (byName === undefined) {
      byName = new Map();
      for (const key of headers.keys()) {
        const lower = key.toLowerCase();
        if (!byName.has(lower)) byName.set(lower, headers.get(key));
      }
    }
    return byName.get(name.toLowerCase());
  };
}

/**
 * Stream sequence, delivery sequence and publish time of `msg`, from its reply subject (not part of
 * the JsMsg type, but what nats.js parses `msg.info` from): the received bytes where this nats.js
 * keeps them (`msg.msg._msg.reply`), else the decoded `reply`, else `msg.info` if that changes.
 */
function deliveryOf(msg: JsMsg, out: Delivery): void {
  const raw = (msg as { msg?: { _msg?: { reply?: unknown } } }).msg?._msg?.reply;
  if (raw instanceof Uint8Array && readDelivery(raw, out)) return;
  const reply = (msg as JsMsg & { readonly reply?: unknown }).reply;
  if (typeof reply === 'string' && readDelivery(reply, out)) return;
  const info = msg.info;
  out.streamSeq = info.streamSequence;
  out.deliverySeq = info.deliverySequence;
  out.publishedMs = Math.floor(info.timestampNanos / 1e6);
  out.pending = info.pending;
}
