import { AckPolicy, DeliverPolicy, type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { consumerInfo } from '../sources/durable-consumer.ts';
import { CheckpointStore } from './checkpoint-store.ts';
import type { RuntimeConfig } from './config.ts';
import { parseConfig } from './config.ts';
import { closeConnections, openConnections } from './connections.ts';
import { CutWriter } from './cut-writer.ts';
import { PipelineEngine } from './engine.ts';
import { Feed } from './feed.ts';
import { runTarget } from './partitions.ts';
import { type PipelineDefinition, PipelineSettings } from './pipeline.ts';
import { preparePipeline } from './runner.ts';

/** A point in the stream: a stream sequence, or a time (epoch ms) compared with publish times. */
export type StreamPoint = { readonly seq: number } | { readonly time: number };

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
  const settings = parseConfig(PipelineSettings, definition.settings ?? {}, `pipeline '${definition.name}' settings`);
  const target = runTarget(definition, options.partition);
  const log = options.onLog ?? (() => {});
  const connections = await openConnections(options.config, `rxa:replay:${target.label}`);
  const shutdown = new AbortController();
  const onAbort = (): void => shutdown.abort();
  options.signal.addEventListener('abort', onAbort, { once: true });
  try {
    const context = await preparePipeline(definition, options.config, connections);
    const js = jetstream(connections.nc);
    const jsm = await jetstreamManager(connections.nc);
    const stream = definition.source.stream;
    const { state } = await jsm.streams.info(stream);
    const fromSeq = await resolvePoint(js, stream, options.from, state.first_seq, state.last_seq + 1);
    const toSeq = options.to
      ? Math.min(state.last_seq, (await resolvePoint(js, stream, after(options.to), state.first_seq, state.last_seq + 1)) - (isTime(options.to) ? 1 : 0))
      : state.last_seq;
    const empty = { fromSeq, toSeq, restoredAtSeq: fromSeq - 1, processed: 0, rowsWritten: 0, deadLetters: 0, lateEvents: 0 };
    if (fromSeq > toSeq) return empty;

    const checkpoints = await CheckpointStore.open(connections.nc, options.config.checkpointBucket);
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

    const engine = new PipelineEngine(definition, context, restored?.operators ?? {}, target.rowPartition);
    const writer = new CutWriter(connections.clickhouse, context.database, js, {
      pipeline: definition.name,
      stream,
      partition: target.rowPartition,
      signal: shutdown.signal,
      log,
      publishDeadLetter: (seq) => seq > liveAckedSeq,
    });
    const consumer = await js.consumers.get(stream, {
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: restoredAtSeq + 1,
      ...(target.filterSubject ? { filter_subjects: target.filterSubject } : {}),
    });
    const feed = new Feed(engine, {
      settings,
      writer,
      startAfterSeq: restoredAtSeq,
      isPastEnd: (msg) => msg.seq > toSeq,
      // `pending` 0: nothing after it (a subject filter can make toSeq itself never arrive).
      isLast: (msg) => msg.seq >= toSeq || msg.info.pending === 0,
    });
    // With a filter, at most the subject's messages from the restored position (some may be past `to`).
    const total = Math.min(toSeq - restoredAtSeq, filtered ?? Infinity);
    const progress = setInterval(() => options.onProgress?.({ processed: feed.eventsIn, total, seq: feed.lastSeq }), 200);
    const messages = await consumer.consume({ max_messages: settings.pullBatch });
    const stop = (): void => void messages.stop();
    options.signal.addEventListener('abort', stop, { once: true });
    try {
      await feed.run(messages);
      await feed.commit(true);
    } finally {
      clearInterval(progress);
      options.signal.removeEventListener('abort', stop);
      await messages.close().catch(() => {});
    }
    engine.dispose();
    options.onProgress?.({ processed: feed.eventsIn, total, seq: feed.lastSeq });
    return { fromSeq, toSeq, restoredAtSeq, processed: feed.eventsIn, ...writer.counters };
  } finally {
    options.signal.removeEventListener('abort', onAbort);
    shutdown.abort();
    await closeConnections(connections);
  }
}

function isTime(point: StreamPoint): point is { readonly time: number } {
  return 'time' in point;
}

/** For an inclusive `to` time, the first message strictly after it marks the end. */
function after(point: StreamPoint): StreamPoint {
  return isTime(point) ? { time: point.time + 1 } : point;
}

/** The first stream sequence at or after `point`; `past` when there is none. */
async function resolvePoint(js: JetStreamClient, stream: string, point: StreamPoint, first: number, past: number): Promise<number> {
  if (!isTime(point)) return Math.max(point.seq, first);
  const probe = await js.consumers.get(stream, { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(point.time).toISOString() });
  const msg = await probe.next({ expires: 2_000 });
  await probe.delete().catch(() => {});
  return msg ? msg.seq : past;
}

/** How many messages on `subject` a consumer starting at `startSeq` would deliver (a probe consumer, deleted after). */
async function pendingFrom(jsm: JetStreamManager, stream: string, subject: string, startSeq: number): Promise<number> {
  const probe = await jsm.consumers.add(stream, {
    ack_policy: AckPolicy.None,
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: startSeq,
    filter_subject: subject,
    inactive_threshold: nanos(60_000),
  });
  await jsm.consumers.delete(stream, probe.name).catch(() => {});
  return probe.num_pending;
}
