import { consumerInfo } from '../sources/durable-consumer.ts';
import { ReplayConsumer } from '../sources/replay-consumer.ts';
import { after, isTime, pendingFrom, resolvePoint, type StreamPoint } from '../sources/stream-points.ts';
import type { RuntimeConfig } from './config.ts';
import { ConsumerReader } from './consumer-reader.ts';
import { Feed } from './feed.ts';
import type { PipelineDefinition } from './pipeline.ts';
import { RunSetup } from './run-setup.ts';

export type { StreamPoint };

export interface ReplayOptions {
  config: RuntimeConfig;
  from: StreamPoint;
  /** Inclusive; @default the last message in the stream when the replay starts. */
  to?: StreamPoint;
  signal: AbortSignal;
  onProgress?: (progress: ReplayProgress) => void;
  onLog?: (message: string) => void;
  /** The partition to replay, for a partitioned pipeline (required there); see `runTarget`. */
  partition?: number;
}

export interface ReplayProgress {
  /** Messages read so far, including the catch-up from the restored checkpoint. */
  processed: number;
  /** Messages between the restored position and the end (with a subject filter: at most that subject's). */
  total: number;
  seq: number;
}

export interface ReplaySummary {
  fromSeq: number;
  toSeq: number;
  /** Where processing started: right after this sequence (a historical checkpoint), 0 = stream start. */
  restoredAtSeq: number;
  processed: number;
  rowsWritten: number;
  deadLetters: number;
  lateEvents: number;
}

/**
 * Reprocess a range of the stream through the same pipeline code, on an ephemeral ordered
 * consumer, without touching the live pipeline's consumer or checkpoint.
 *
 * Exactly-once totals: the replay restores the newest historical checkpoint taken before `from`
 * (the live runner keeps them, see `checkpointHistoryIntervalMs`), or starts from the beginning
 * of the stream when there is none, and processes from there. Its state at `from` is therefore
 * the live pipeline's state at `from`, so every row it writes is identical to the live one or a
 * more complete version of it (higher `version`) — never an extra or a smaller count. Replaying
 * twice, or while the live pipeline runs, changes nothing. Dead letters the live pipeline already
 * published are not published to the DLQ stream again (they are rewritten in rxa_dead_letters).
 *
 * A partitioned pipeline is replayed one partition at a time: the partition's subject, its
 * historical checkpoints and its live consumer; `from`/`to` are positions in the whole stream.
 */
export async function replayPipeline(definition: PipelineDefinition, options: ReplayOptions): Promise<ReplaySummary> {
  const run = await RunSetup.open(definition, options, 'rxa:replay');
  const { settings, target, log, js, jsm } = run;
  // Aborted, a replay stops at once: pending writes give up (a replay acks nothing).
  const onAbort = (): void => run.shutdown.abort();
  options.signal.addEventListener('abort', onAbort, { once: true });
  const stream = definition.source.stream;
  const consumer = new ReplayConsumer(js, jsm, stream, target.filterSubject);
  try {
    const context = await run.prepare();
    const { state } = await jsm.streams.info(stream);
    const fromSeq = await resolvePoint(js, stream, options.from, state.first_seq, state.last_seq + 1);
    const toSeq = options.to
      ? Math.min(state.last_seq, (await resolvePoint(js, stream, after(options.to), state.first_seq, state.last_seq + 1)) - (isTime(options.to) ? 1 : 0))
      : state.last_seq;
    const empty = { fromSeq, toSeq, restoredAtSeq: fromSeq - 1, processed: 0, rowsWritten: 0, deadLetters: 0, lateEvents: 0 };
    if (fromSeq > toSeq) return empty;

    const checkpoints = await run.openCheckpointStore();
    const restored = await checkpoints.historyBefore(target.checkpointKey, fromSeq);
    const restoredAtSeq = restored?.lastSeq ?? 0;
    const prefix = target.partition === undefined ? '' : `partition ${target.partition}: `;
    log(
      `${prefix}${restored ? `restored the checkpoint at stream seq ${restoredAtSeq}; catching up to ${fromSeq}` : `no checkpoint before seq ${fromSeq}: processing from the start of the stream`}`,
    );
    // A filtered consumer with nothing left to deliver would wait forever for a first message.
    const filtered = target.filterSubject ? await pendingFrom(jsm, stream, target.filterSubject, restoredAtSeq + 1) : undefined;
    if (filtered === 0) {
      log(`${prefix}no messages on ${target.filterSubject} after seq ${restoredAtSeq}`);
      return { ...empty, restoredAtSeq };
    }
    const live = await consumerInfo(jsm, stream, target.durable);
    const liveAckedSeq = live?.ack_floor.stream_seq ?? 0;

    const { engine, writer } = run.start(context, { operators: restored?.operators }, (seq) => seq > liveAckedSeq);
    const feed = new Feed(engine, {
      settings,
      writer,
      startAfterSeq: restoredAtSeq,
      isPastEnd: (msg) => msg.seq > toSeq,
      // `pending` 0: nothing after it (a subject filter can make toSeq itself never arrive).
      isLast: (msg) => msg.seq >= toSeq || msg.info.pending === 0,
    });
    const reader = new ConsumerReader({ settings, open: (seq) => consumer.open(seq), signal: options.signal, log });
    // With a filter, at most the subject's messages from the restored position (some may be past `to`).
    const total = Math.min(toSeq - restoredAtSeq, filtered ?? Infinity);
    const progress = setInterval(() => options.onProgress?.({ processed: feed.eventsIn, total, seq: feed.lastSeq }), 200);
    try {
      await reader.read(feed);
      await feed.commit(true);
    } finally {
      clearInterval(progress);
    }
    engine.dispose();
    options.onProgress?.({ processed: feed.eventsIn, total, seq: feed.lastSeq });
    return { fromSeq, toSeq, restoredAtSeq, processed: feed.eventsIn, ...writer.counters };
  } finally {
    options.signal.removeEventListener('abort', onAbort);
    await consumer.delete();
    await run.close();
  }
}
