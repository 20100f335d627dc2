import { type ConsumerMessages, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { logRetries, retry } from '../common/retry.ts';
import { ensureTables } from '../sinks/clickhouse/schema.ts';
import { DeadLetterPublisher } from '../sinks/dead-letter.ts';
import { BatchedPull, PullInterrupted } from '../sources/batched-pull.ts';
import { isConsumerGone, openDurableConsumer } from '../sources/durable-consumer.ts';
import { ensureStream } from '../sources/streams.ts';
import { releaseSnapshot } from '../state/snapshot-buffers.ts';
import { type Checkpoint, CheckpointStore } from './checkpoint-store.ts';
import type { RuntimeConfig } from './config.ts';
import { parseConfig } from './config.ts';
import { type Connections, closeConnections, openConnections } from './connections.ts';
import { CutWriter } from './cut-writer.ts';
import { PipelineEngine } from './engine.ts';
import { Feed } from './feed.ts';
import { Lease, leaseBucket } from './lease.ts';
import { assertPartitionLayout } from './partition-layout.ts';
import { runTarget } from './partitions.ts';
import { type BuildContext, type PipelineDefinition, PipelineSettings } from './pipeline.ts';
import { systemTables } from './system-tables.ts';

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
  /** Size of the last checkpoint saved, in bytes as stored, and how long saving it took (encoding and upload, retries included). 0 before the first. */
  lastCheckpointBytes: number;
  lastCheckpointMs: number;
  operators: Record<string, number>;
}

export interface RunOptions {
  config: RuntimeConfig;
  /** Abort to shut down gracefully: stop pulling, flush, checkpoint, ack, close. */
  signal: AbortSignal;
  onStatus?: (status: PipelineStatus) => void;
  /** @default 1_000 */
  statusIntervalMs?: number;
  onLog?: (message: string) => void;
  /**
   * Which partition to run, for a pipeline with `source.partitions` (required there, refused
   * otherwise). `runPartitions` runs several in one process.
   */
  partition?: number;
}

/** Create what a pipeline needs (streams, tables, reference data). Idempotent. */
export async function preparePipeline(definition: PipelineDefinition, config: RuntimeConfig, connections: Connections): Promise<BuildContext> {
  const jsm = await jetstreamManager(connections.nc);
  await ensureStream(jsm, { name: definition.source.stream, subjects: definition.source.subjects });
  await DeadLetterPublisher.ensureStream(jsm);
  const database = config.clickhouse.database;
  await ensureTables(connections.clickhouse, database, [...Object.values(definition.tables), ...systemTables]);
  const context: BuildContext = { clickhouse: connections.clickhouse, database, pipeline: definition.name };
  await definition.setup?.(context);
  return context;
}

/**
 * Run a pipeline on its durable consumer until `signal` aborts.
 *
 * Delivery: at-least-once from JetStream, effectively-once in ClickHouse.
 * Every `flushIntervalMs` (or `flushRows`) the runner takes a consistent cut of the engine and
 * writes its rows; every `checkpointIntervalMs` it also saves the operator state with the last
 * stream sequence in it, and only then acks (AckAll) up to that sequence. After a crash, state is
 * restored from the checkpoint and consumption resumes right after it; the rows written since
 * are written again, identically, and replace themselves (see sinks/clickhouse/table.ts).
 */
export async function runPipeline(definition: PipelineDefinition, options: RunOptions): Promise<PipelineStatus> {
  const settings = parseConfig(PipelineSettings, definition.settings ?? {}, `pipeline '${definition.name}' settings`);
  const target = runTarget(definition, options.partition);
  const log = options.onLog ?? (() => {});
  const connections = await openConnections(options.config, `rxa:${target.label}`);
  const { nc, clickhouse } = connections;
  const shutdown = new AbortController();
  let lease: Lease | undefined;
  try {
    // Before anything of the target's state is read: one process at a time runs it.
    try {
      lease = await Lease.acquire(nc, leaseBucket(options.config.checkpointBucket), target.checkpointKey, {
        ttlMs: settings.leaseTtlMs,
        signal: options.signal,
        log,
      });
    } catch (error) {
      if (options.signal.aborted) return emptyStatus(); // stopped while waiting for another process
      throw error;
    }
    const held = lease;
    const context = await preparePipeline(definition, options.config, connections);
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    const checkpoints = await CheckpointStore.open(nc, options.config.checkpointBucket);
    const checkpointKey = target.checkpointKey;
    const checkpoint = await checkpoints.load(checkpointKey);
    const streamName = definition.source.stream;
    if (checkpoint && checkpoint.stream !== streamName) {
      throw new Error(`checkpoint of '${target.label}' is for stream '${checkpoint.stream}', not '${streamName}'; reset the pipeline`);
    }
    if (!checkpoint) await assertPartitionLayout(nc, options.config.checkpointBucket, definition, target);
    const engine = new PipelineEngine(definition, context, checkpoint?.operators ?? {}, target.rowPartition);
    const writer = new CutWriter(
      clickhouse,
      context.database,
      js,
      { pipeline: definition.name, stream: streamName, partition: target.rowPartition, signal: shutdown.signal, log },
      checkpoint?.counters,
    );
    let ackedSeq = checkpoint?.lastSeq ?? 0;
    let checkpointCount = 0;
    let lastCheckpointBytes = 0;
    let lastCheckpointMs = 0;
    let lastCheckpointAt = Date.now();
    // The history's spacing holds across restarts: a restart does not save a copy at once.
    let lastHistoryAt = Math.max(0, ...(await checkpoints.history(checkpointKey)).map((h) => h.savedAt || 0));
    log(checkpoint ? `restored checkpoint at stream seq ${ackedSeq}` : 'no checkpoint: starting from the beginning of the stream');

    const consumerSpec = {
      stream: streamName,
      durable: target.durable,
      ...(target.filterSubject ? { filterSubject: target.filterSubject } : {}),
      maxAckPending: settings.maxAckPending,
      ackWaitMs: settings.ackWaitMs,
    };
    let { consumer, deliveredConsumerSeq } = await openDurableConsumer(js, jsm, consumerSpec, ackedSeq + 1);

    const feed: Feed = new Feed(engine, {
      settings,
      writer,
      startAfterSeq: ackedSeq,
      // Also before the consumer's max_ack_pending would stop deliveries (sequence distance bounds it).
      wantSnapshot: () =>
        feed.lastSeq > ackedSeq && (Date.now() - lastCheckpointAt >= settings.checkpointIntervalMs || feed.lastSeq - ackedSeq >= settings.maxAckPending / 2),
      // Checkpoint, then ack: acked input is never needed again, because the state that reflects
      // it is saved and its rows are written.
      checkpoint: async (cut, position) => {
        if (!cut.snapshot || position.seq <= ackedSeq) return;
        // Still this process's to save and ack (throws once another process holds it).
        await held.confirm();
        const saved: Checkpoint = {
          format: 1,
          pipeline: definition.name,
          stream: streamName,
          lastSeq: position.seq,
          takenAt: Date.now(),
          operators: cut.snapshot,
          counters: { ...writer.counters },
        };
        const saveStarted = performance.now();
        lastCheckpointBytes = await retry(() => checkpoints.save(checkpointKey, saved), {
          signal: shutdown.signal,
          onRetry: logRetries(log, 'checkpoint save'),
        });
        // A save retried through an outage can outlast the lease: confirm again before acking.
        await held.confirm();
        position.msg?.ack();
        ackedSeq = position.seq;
        checkpointCount++;
        lastCheckpointAt = Date.now();
        lastCheckpointMs = performance.now() - saveStarted;
        if (lastCheckpointAt - lastHistoryAt >= settings.checkpointHistoryIntervalMs) {
          // Replay restores the latest of these at or before its start (see core/replay.ts).
          lastHistoryAt = lastCheckpointAt;
          await checkpoints
            .saveHistory(checkpointKey, saved, settings.checkpointHistoryKeep)
            .catch((error: unknown) => log(`could not save checkpoint history: ${String(error)}`));
        }
        // Saved: its columns' memory serves the next snapshot (see operators/snapshot-buffers.ts).
        releaseSnapshot(cut.snapshot);
      },
    });

    // Status.
    let lag = 0;
    let ackPending = 0;
    let lastStatusCount = 0;
    let lastStatusAt = Date.now();
    const status = (): PipelineStatus => {
      const now = Date.now();
      const rate = ((feed.eventsIn - lastStatusCount) * 1000) / Math.max(1, now - lastStatusAt);
      lastStatusCount = feed.eventsIn;
      lastStatusAt = now;
      return {
        ...writer.counters,
        eventsIn: feed.eventsIn,
        eventsPerSecond: Math.round(rate),
        lag,
        ackPending,
        lastSeq: feed.lastSeq,
        ackedSeq,
        flushes: feed.flushes,
        lastFlushMs: feed.lastFlushMs,
        checkpoints: checkpointCount,
        lastCheckpointBytes,
        lastCheckpointMs,
        operators: engine.stats(),
      };
    };
    /** The consume loop running now, if any. */
    let consuming: ConsumerMessages | BatchedPull | undefined;
    // Taken over: stop reading now; the error ends the run without a last checkpoint or ack.
    held.whenLost((error) => void consuming?.stop(error));
    const statusTimer = setInterval(() => {
      const watched = consuming;
      consumer
        .info(false)
        .then((info) => {
          lag = info.num_pending;
          ackPending = info.num_ack_pending;
        })
        .catch((error: unknown) => {
          // A deleted consumer ends the loop now (it is recreated below); nats.js alone notices only
          // after missed heartbeats, ~30 s.
          if (watched !== undefined && watched === consuming && isConsumerGone(error)) watched.stop(error as Error);
        });
      options.onStatus?.(status());
    }, options.statusIntervalMs ?? 1_000);

    try {
      for (;;) {
        // A missing consumer ends the loop (instead of waiting for it to reappear): it is recreated below.
        const messages =
          settings.pullLingerMs > 0
            ? new BatchedPull(consumer, { batch: settings.pullBatch, lingerMs: settings.pullLingerMs })
            : await consumer.consume({ max_messages: settings.pullBatch, abort_on_missing_resource: true });
        consuming = messages;
        const onAbort = (): void => void messages.stop();
        options.signal.addEventListener('abort', onAbort, { once: true });
        if (options.signal.aborted) onAbort();
        let outcome: 'done' | 'gap' | 'gone' | PullInterrupted;
        try {
          outcome = await feed.run(messages, deliveredConsumerSeq);
        } catch (error) {
          if (options.signal.aborted || !(isConsumerGone(error) || error instanceof PullInterrupted)) throw error;
          outcome = error instanceof PullInterrupted ? error : 'gone';
        } finally {
          consuming = undefined;
          options.signal.removeEventListener('abort', onAbort);
        }
        if (outcome === 'done' || options.signal.aborted) break;
        await messages.close().catch(() => {});
        // State and buffered rows stay as they are; the consumer restarts right after them, so the
        // lost delivery comes again and no ack can pass it.
        const why =
          outcome === 'gap'
            ? 'a delivery was lost in transit (reconnect?)'
            : outcome === 'gone'
              ? 'the consumer is gone (server restart, or deleted)'
              : outcome.message;
        log(`${why}: ${outcome === 'gone' ? 'recreating it' : 'repositioning the consumer'} after stream seq ${feed.lastSeq}`);
        // The server may be restarting (a pull can fail on its shutdown): ask until it answers.
        try {
          ({ consumer, deliveredConsumerSeq } = await retry(() => openDurableConsumer(js, jsm, consumerSpec, feed.lastSeq + 1), {
            signal: options.signal,
            onRetry: logRetries(log, 'opening the consumer'),
          }));
        } catch (error) {
          if (options.signal.aborted) break;
          throw error;
        }
      }
    } finally {
      clearInterval(statusTimer);
    }

    // Graceful shutdown: final cut, checkpoint and ack, bounded in time.
    const timeout = setTimeout(() => shutdown.abort(), settings.shutdownTimeoutMs);
    try {
      await feed.commit(true);
    } finally {
      clearTimeout(timeout);
    }
    engine.dispose();
    const final = status();
    options.onStatus?.(final);
    return final;
  } finally {
    shutdown.abort();
    await lease?.release();
    await closeConnections(connections);
  }
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
    lastCheckpointMs: 0,
    operators: {},
  };
}
