import { openDurableConsumer } from '../sources/durable-consumer.ts';
import { Checkpointer } from './checkpointer.ts';
import type { RuntimeConfig } from './config.ts';
import { ConsumerReader } from './consumer-reader.ts';
import { Feed } from './feed.ts';
import type { Lease } from './lease.ts';
import type { PipelineDefinition } from './pipeline.ts';
import { RunSetup } from './run-setup.ts';
import { emptyStatus, type PipelineStatus, StatusBoard } from './run-status.ts';
import { cutTracing } from './tracing.ts';

export { emptyStatus, type PipelineStatus } from './run-status.ts';

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
  /**
   * A lease on the partition taken already (automatic balancing, core/balancer.ts): the run
   * starts at once instead of acquiring one, and releases it when it ends.
   */
  lease?: Lease;
}

/**
 * Run a pipeline on its durable consumer until `signal` aborts.
 *
 * Delivery: at-least-once from JetStream, effectively-once in ClickHouse.
 * Every `flushIntervalMs` (or `flushRows`) the feed takes a consistent cut of the engine and
 * writes its rows; every `checkpointIntervalMs` the checkpointer also saves the operator state with
 * the last stream sequence in it, and only then acks (AckAll) up to that sequence. After a crash,
 * state is restored from the checkpoint and consumption resumes right after it; the rows written
 * since are written again, identically, and replace themselves (see sinks/clickhouse/table.ts).
 */
export async function runPipeline(definition: PipelineDefinition, options: RunOptions): Promise<PipelineStatus> {
  const run = await RunSetup.open(definition, options, 'rxa');
  try {
    const lease = options.lease ? run.adoptLease(options.lease) : await run.acquireLease(options.signal);
    if (!lease) return emptyStatus(); // stopped while waiting for another process
    const { settings, target, log } = run;
    const { engine, writer, latest, checkpoint, historySavedAt } = await run.restoreLatest(lease, options.signal);
    const checkpointer = new Checkpointer({
      pipeline: definition.name,
      stream: definition.source.stream,
      settings,
      lease,
      store: {
        save: (state) => latest.save(state),
        saveHistory: (state, keep) => latest.saveHistory(state, keep),
      },
      counters: () => ({ ...writer.counters }),
      ackedSeq: checkpoint?.lastSeq ?? 0,
      historySavedAt,
      signal: run.shutdown.signal,
      log,
    });
    log(checkpoint ? `restored checkpoint at stream seq ${checkpointer.ackedSeq}` : 'no checkpoint: starting from the beginning of the stream');
    // Spans per cut only once a tracer provider is registered (core/tracing.ts): otherwise no message is looked at for them.
    const tracing = await cutTracing({
      pipeline: definition.name,
      stream: definition.source.stream,
      consumer: target.durable,
      partition: target.rowPartition,
      database: run.config.clickhouse.database,
    });
    const feed = new Feed(engine, { settings, writer, startAfterSeq: checkpointer.ackedSeq, checkpoints: checkpointer, tracing });
    const { maxAckPending, ackWaitMs } = settings;
    const consumer = { stream: definition.source.stream, durable: target.durable, filterSubject: target.filterSubject, maxAckPending, ackWaitMs };
    const reader = new ConsumerReader({
      settings,
      open: (seq, reopening) => openDurableConsumer(run.js, run.jsm, consumer, seq, { ownUnacked: reopening }),
      signal: options.signal,
      log,
    });
    // Taken over: stop reading now; the error ends the run without a last checkpoint or ack.
    lease.whenLost((error) => reader.interrupt(error));
    const status = new StatusBoard({ feed, writer, checkpointer, consumer: reader, engine });
    const reporting = setInterval(() => {
      reader.refresh();
      options.onStatus?.(status.take());
    }, options.statusIntervalMs ?? 1_000);
    try {
      await reader.read(feed);
    } finally {
      clearInterval(reporting);
    }
    await run.lastCut(feed);
    engine.dispose();
    const final = status.take();
    options.onStatus?.(final);
    return final;
  } finally {
    await run.close();
  }
}
