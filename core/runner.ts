import type { ClickHouseClient } from '@clickhouse/client';
import { type JsMsg, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { type NatsConnection, connect } from '@nats-io/transport-node';
import { DeadLetterPublisher, type DeadLetter } from '../sinks/dead-letter.ts';
import { ensureTables } from '../sinks/clickhouse/schema.ts';
import { ClickHouseWriter } from '../sinks/clickhouse/writer.ts';
import type { AnyTable } from '../sinks/clickhouse/table.ts';
import { openDurableConsumer } from '../sources/durable-consumer.ts';
import { ensureStream } from '../sources/streams.ts';
import { CheckpointStore } from './checkpoint-store.ts';
import { createClickHouseClient } from './clickhouse-client.ts';
import type { RuntimeConfig } from './config.ts';
import { parseConfig } from './config.ts';
import { type Cut, PipelineEngine, type SourceRecord } from './engine.ts';
import { type BuildContext, type PipelineDefinition, PipelineSettings } from './pipeline.ts';
import { deadLettersTable, lateEventsTable, systemTables } from './system-tables.ts';

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
}

/** Connections shared by the live runner and replay. */
export interface Connections {
  nc: NatsConnection;
  clickhouse: ClickHouseClient;
}

export async function openConnections(config: RuntimeConfig, name: string): Promise<Connections> {
  const nc = await connect({ servers: config.nats.servers, name, maxReconnectAttempts: -1, reconnectTimeWait: 500 });
  const clickhouse = createClickHouseClient(config.clickhouse);
  return { nc, clickhouse };
}

export async function closeConnections({ nc, clickhouse }: Connections): Promise<void> {
  await clickhouse.close();
  if (!nc.isClosed()) await nc.drain();
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
  const log = options.onLog ?? (() => {});
  const connections = await openConnections(options.config, `rxa:${definition.name}`);
  const { nc, clickhouse } = connections;
  const shutdown = new AbortController();
  try {
    const context = await preparePipeline(definition, options.config, connections);
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    const checkpoints = await CheckpointStore.open(nc, options.config.checkpointBucket);
    const checkpointKey = `pipeline.${definition.name}`;
    const checkpoint = await checkpoints.load(checkpointKey);
    const streamName = definition.source.stream;
    if (checkpoint && checkpoint.stream !== streamName) {
      throw new Error(`checkpoint of '${definition.name}' is for stream '${checkpoint.stream}', not '${streamName}'; reset the pipeline`);
    }
    const engine = new PipelineEngine(definition, context, checkpoint?.operators ?? {});
    const counters = { rowsWritten: 0, deadLetters: 0, lateEvents: 0, sinkRetries: 0, ...checkpoint?.counters, eventsIn: 0 };
    let lastSeq = checkpoint?.lastSeq ?? 0;
    let ackedSeq = lastSeq;
    let lastMsg: JsMsg | undefined;
    let lastCheckpointAt = Date.now();
    log(checkpoint ? `restored checkpoint at stream seq ${lastSeq}` : 'no checkpoint: starting from the beginning of the stream');

    const consumer = await openDurableConsumer(
      js,
      jsm,
      {
        stream: streamName,
        durable: definition.source.consumer ?? definition.name,
        ...(definition.source.filterSubject ? { filterSubject: definition.source.filterSubject } : {}),
        maxAckPending: settings.maxAckPending,
        ackWaitMs: settings.ackWaitMs,
      },
      lastSeq + 1,
    );

    const deadLetterPublisher = new DeadLetterPublisher(js);
    const rejected: DeadLetter[] = [];
    const writer = new ClickHouseWriter(clickhouse, context.database, {
      signal: shutdown.signal,
      onRetry: (table, error, attempt, delay) => {
        counters.sinkRetries++;
        if (attempt === 1 || attempt % 10 === 0) log(`ClickHouse insert into ${table} failed (attempt ${attempt}), retrying in ${delay} ms: ${String(error)}`);
      },
      onRejected: (table, row, reason) => rejected.push(rowDeadLetter(definition.name, streamName, table, row, reason)),
    });

    /** Write a cut: rows, late events, dead letters (stream and table). Throws only on shutdown. */
    const writeCut = async (cut: Cut): Promise<void> => {
      const writes: Promise<unknown>[] = [];
      for (const [table, rows] of cut.rows) {
        writes.push(writer.insert(table, rows).then((r) => (counters.rowsWritten += r.written)));
      }
      const letters = cut.deadLetters.map((d) => sourceDeadLetter(definition.name, streamName, d));
      writes.push(writer.insert(lateEventsTable, cut.late.map((l) => lateRow(definition.name, l))));
      await Promise.all(writes);
      letters.push(...rejected.splice(0));
      if (letters.length > 0) {
        await retry(() => deadLetterPublisher.publish(letters), shutdown.signal, log);
        await writer.insert(deadLettersTable, letters.map(deadLetterRow));
      }
      counters.deadLetters += letters.length;
      counters.lateEvents += cut.late.length;
    };

    // Commits are strictly sequential: a checkpoint must never be saved (and acked) before the
    // rows of every earlier cut are written.
    let commitChain: Promise<void> = Promise.resolve();
    let queuedCommit: Promise<void> | undefined;
    let pausedForCut: Promise<void> | undefined;
    const commit = (forceCheckpoint: boolean): Promise<void> => {
      // One commit waiting behind the running one is enough: it will take everything buffered.
      if (queuedCommit && !forceCheckpoint) return queuedCommit;
      queuedCommit = commitChain = commitChain.then(async () => {
        queuedCommit = undefined;
        let resume!: () => void;
        pausedForCut = new Promise((r) => (resume = r));
        let cut: Cut;
        let cutSeq: number;
        let cutMsg: JsMsg | undefined;
        const checkpointNow = forceCheckpoint || Date.now() - lastCheckpointAt >= settings.checkpointIntervalMs;
        try {
          await engine.idle();
          cut = engine.cut(checkpointNow && lastSeq > ackedSeq);
          cutSeq = lastSeq;
          cutMsg = lastMsg;
        } finally {
          pausedForCut = undefined;
          resume();
        }
        await writeCut(cut);
        if (cut.snapshot && cutSeq > ackedSeq) {
          await retry(
            () =>
              checkpoints.save(checkpointKey, {
                format: 1,
                pipeline: definition.name,
                stream: streamName,
                lastSeq: cutSeq,
                takenAt: Date.now(),
                operators: cut.snapshot!,
                counters: { rowsWritten: counters.rowsWritten, deadLetters: counters.deadLetters, lateEvents: counters.lateEvents, sinkRetries: counters.sinkRetries },
              }),
            shutdown.signal,
            log,
          );
          cutMsg?.ack();
          ackedSeq = cutSeq;
          lastCheckpointAt = Date.now();
        }
      });
      return commitChain;
    };

    // Status and timed flushes.
    let lag = 0;
    let ackPending = 0;
    let lastStatusCount = 0;
    let lastStatusAt = Date.now();
    const status = (): PipelineStatus => {
      const now = Date.now();
      const rate = ((counters.eventsIn - lastStatusCount) * 1000) / Math.max(1, now - lastStatusAt);
      lastStatusCount = counters.eventsIn;
      lastStatusAt = now;
      return { ...counters, eventsPerSecond: Math.round(rate), lag, ackPending, lastSeq, ackedSeq, operators: engine.stats() };
    };
    const flushTimer = setInterval(() => {
      if (!pausedForCut) commit(false).catch(() => {});
    }, settings.flushIntervalMs);
    const statusTimer = setInterval(() => {
      consumer
        .info(false)
        .then((info) => {
          lag = info.num_pending;
          ackPending = info.num_ack_pending;
        })
        .catch(() => {});
      options.onStatus?.(status());
    }, options.statusIntervalMs ?? 1_000);

    const messages = await consumer.consume({ max_messages: settings.pullBatch });
    const onAbort = (): void => void messages.stop();
    options.signal.addEventListener('abort', onAbort, { once: true });
    if (options.signal.aborted) onAbort();
    try {
      for await (const msg of messages) {
        if (pausedForCut) await pausedForCut;
        if (engine.error) throw engine.error;
        const seq = msg.seq;
        // Already folded into state (redelivered after ack_wait while waiting on ClickHouse): skip.
        if (seq <= lastSeq) continue;
        const record: SourceRecord = { payload: msg.data, subject: msg.subject, seq, published: Math.floor(msg.info.timestampNanos / 1e6) };
        engine.push(record);
        lastSeq = seq;
        lastMsg = msg;
        counters.eventsIn++;
        if (engine.pending() > settings.maxPendingAsync) await engine.idle();
        if (engine.bufferedRows >= settings.flushRows) {
          const committing = commit(false);
          if (engine.bufferedRows >= settings.maxBufferedRows) await committing;
        }
      }
    } finally {
      clearInterval(flushTimer);
      clearInterval(statusTimer);
      options.signal.removeEventListener('abort', onAbort);
    }
    if (engine.error) throw engine.error;

    // Graceful shutdown: final cut, checkpoint and ack, bounded in time.
    const timeout = setTimeout(() => shutdown.abort(), settings.shutdownTimeoutMs);
    try {
      await commit(true);
    } finally {
      clearTimeout(timeout);
    }
    engine.dispose();
    const final = status();
    options.onStatus?.(final);
    return final;
  } finally {
    shutdown.abort();
    await closeConnections(connections);
  }
}

/** Retry an I/O step (NATS publish, checkpoint save) until it succeeds or shutdown aborts. */
async function retry(step: () => Promise<void>, signal: AbortSignal, log: (m: string) => void): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await step();
    } catch (error) {
      if (signal.aborted) throw error;
      if (attempt === 1 || attempt % 10 === 0) log(`retrying after error (attempt ${attempt}): ${String(error)}`);
      await new Promise((r) => setTimeout(r, Math.min(5_000, 100 * 2 ** Math.min(attempt, 6))));
    }
  }
}

function sourceDeadLetter(pipeline: string, stream: string, d: Cut['deadLetters'][number]): DeadLetter {
  const seq = d.origin?.seq ?? 0;
  return {
    pipeline,
    stage: d.stage,
    reason: d.reason,
    payload: d.payload,
    source: { stream, subject: d.origin?.subject ?? '', seq },
    id: `${pipeline}:${stream}:${seq}:${d.stage}`,
    receivedAt: d.origin?.published ?? 0,
  };
}

function rowDeadLetter(pipeline: string, stream: string, table: string, row: Readonly<Record<string, unknown>>, reason: string): DeadLetter {
  const payload = JSON.stringify(row);
  return {
    pipeline,
    stage: `clickhouse:${table}`,
    reason,
    payload,
    source: { stream, subject: '', seq: 0 },
    id: `${pipeline}:${table}:${fnv1a(payload)}`,
    receivedAt: Date.now(),
  };
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function deadLetterRow(d: DeadLetter): Record<string, unknown> {
  let payload: string;
  let encoding = 'utf-8';
  if (typeof d.payload === 'string') payload = d.payload;
  else {
    try {
      payload = strictUtf8.decode(d.payload);
    } catch {
      payload = Buffer.from(d.payload).toString('base64');
      encoding = 'base64';
    }
  }
  return {
    pipeline: d.pipeline,
    stage: d.stage,
    reason: d.reason,
    payload,
    payload_encoding: encoding,
    source_subject: d.source.subject,
    source_seq: d.source.seq,
    id: d.id,
    received_at: d.receivedAt,
  };
}

function lateRow(pipeline: string, l: Cut['late'][number]): Record<string, unknown> {
  return {
    pipeline,
    stage: l.stage,
    event_time: l.eventTime,
    watermark: l.watermark,
    lateness_ms: Math.max(0, Math.round(l.watermark - l.eventTime)),
    payload: JSON.stringify(l.event),
    source_seq: l.origin?.seq ?? 0,
  };
}

function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(16);
}

