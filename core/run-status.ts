import type { CutWriterCounters } from './cut-writer.ts';

export interface PipelineStatus {
  /** Messages consumed by this process. */
  eventsIn: number;
  /** Over the last status interval. */
  eventsPerSecond: number;
  /** Messages in the stream not yet delivered to the consumer (JetStream num_pending). */
  lag: number;
  /** Delivered and not yet acked (acks happen at checkpoints). */
  ackPending: number;
  rowsWritten: number;
  deadLetters: number;
  lateEvents: number;
  /** Last stream sequence folded into state / acked. */
  lastSeq: number;
  ackedSeq: number;
  /** ClickHouse insert retries so far (nonzero means the sink is or was unavailable). */
  sinkRetries: number;
  /** Writes (cuts) completed, and how long the last one took from cut to every row written. */
  flushes: number;
  lastFlushMs: number;
  /** Checkpoints saved (each followed by an ack). */
  checkpoints: number;
  /** Size of the last checkpoint saved, the bytes saving it wrote (what changed since the one before), and how long saving it took (encoding and upload, retries included). 0 before the first. */
  lastCheckpointBytes: number;
  lastCheckpointWrittenBytes: number;
  lastCheckpointMs: number;
  operators: Record<string, number>;
}

/** Every figure zero: the status of a run that stopped before it started (while waiting for its lease). */
export function emptyStatus(): PipelineStatus {
  return {
    eventsIn: 0,
    eventsPerSecond: 0,
    lag: 0,
    ackPending: 0,
    rowsWritten: 0,
    deadLetters: 0,
    lateEvents: 0,
    lastSeq: 0,
    ackedSeq: 0,
    sinkRetries: 0,
    flushes: 0,
    lastFlushMs: 0,
    checkpoints: 0,
    lastCheckpointBytes: 0,
    lastCheckpointWrittenBytes: 0,
    lastCheckpointMs: 0,
    operators: {},
  };
}

/** Where a running pipeline's figures live: each part keeps its own. */
export interface StatusSources {
  feed: { readonly eventsIn: number; readonly lastSeq: number; readonly flushes: number; readonly lastFlushMs: number };
  writer: { readonly counters: Readonly<CutWriterCounters> };
  checkpointer: {
    readonly ackedSeq: number;
    readonly checkpoints: number;
    readonly lastCheckpointBytes: number;
    readonly lastCheckpointWrittenBytes: number;
    readonly lastCheckpointMs: number;
  };
  /** The consumer's backlog and unacked count, as last asked (see `ConsumerReader.refresh`). */
  consumer: { readonly lag: number; readonly ackPending: number };
  engine: { stats(): Record<string, number> };
}

/** A running pipeline's status, gathered from its parts; the rate is over the time since the previous one. */
export class StatusBoard {
  private lastCount = 0;
  private lastAt = Date.now();

  constructor(private readonly sources: StatusSources) {}

  take(): PipelineStatus {
    const { feed, writer, checkpointer, consumer, engine } = this.sources;
    const now = Date.now();
    const rate = ((feed.eventsIn - this.lastCount) * 1000) / Math.max(1, now - this.lastAt);
    this.lastCount = feed.eventsIn;
    this.lastAt = now;
    return {
      ...writer.counters,
      eventsIn: feed.eventsIn,
      eventsPerSecond: Math.round(rate),
      lag: consumer.lag,
      ackPending: consumer.ackPending,
      lastSeq: feed.lastSeq,
      ackedSeq: checkpointer.ackedSeq,
      flushes: feed.flushes,
      lastFlushMs: feed.lastFlushMs,
      checkpoints: checkpointer.checkpoints,
      lastCheckpointBytes: checkpointer.lastCheckpointBytes,
      lastCheckpointWrittenBytes: checkpointer.lastCheckpointWrittenBytes,
      lastCheckpointMs: checkpointer.lastCheckpointMs,
      operators: engine.stats(),
    };
  }
}
