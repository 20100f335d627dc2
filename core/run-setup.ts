import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { ensureTables } from '../sinks/clickhouse/schema.ts';
import { DeadLetterPublisher } from '../sinks/dead-letter.ts';
import { ensureStream } from '../sources/streams.ts';
import { retryWhileUnavailable } from '../sources/unavailable.ts';
import { type Checkpoint, CheckpointStore } from './checkpoint-store.ts';
import type { RuntimeConfig } from './config.ts';
import { parseConfig } from './config.ts';
import { type Connections, closeConnections, openConnections } from './connections.ts';
import { CutWriter, type CutWriterCounters } from './cut-writer.ts';
import { assertPipelineBuilds } from './definition-check.ts';
import { PipelineEngine } from './engine.ts';
import type { Feed } from './feed.ts';
import { LatestCheckpoint } from './latest-checkpoint.ts';
import { Lease, leaseBucket, leaseStore } from './lease.ts';
import { assertPartitionLayout } from './partition-layout.ts';
import { type RunTarget, runTarget } from './partitions.ts';
import { type BuildContext, type PipelineDefinition, PipelineSettings } from './pipeline.ts';
import { systemTables } from './system-tables.ts';

/** Create what a pipeline needs (streams, tables, reference data). Idempotent. */
export async function preparePipeline(definition: PipelineDefinition, config: RuntimeConfig, connections: Connections): Promise<BuildContext> {
  const jsm = await jetstreamManager(connections.nc);
  const replicas = config.nats.streamReplicas;
  await ensureStream(jsm, { name: definition.source.stream, subjects: definition.source.subjects, replicas });
  await DeadLetterPublisher.ensureStream(jsm, replicas);
  const database = config.clickhouse.database;
  const cluster = config.clickhouse.cluster;
  await ensureTables(connections.clickhouse, database, [...Object.values(definition.tables), ...systemTables], { cluster });
  const context: BuildContext = { clickhouse: connections.clickhouse, database, pipeline: definition.name, cluster };
  await definition.setup?.(context);
  return context;
}

export interface RunSetupOptions {
  config: RuntimeConfig;
  /** The partition to run, for a partitioned pipeline (see `runTarget`). */
  partition?: number | undefined;
  onLog?: ((message: string) => void) | undefined;
  /** Ends the waits for JetStream to answer at start (the run is being stopped). */
  signal?: AbortSignal | undefined;
}

/** What a run starts from: the engine (with the restored state in it) and the writer of its cuts. */
export interface RunParts {
  engine: PipelineEngine;
  writer: CutWriter;
}

/**
 * What the live runner (core/runner.ts) and replay (core/replay.ts) set up alike, and take down:
 * the settings and the target (partition) of the run, its connections, the pipeline's streams and
 * tables, the checkpoint store, an engine with restored state and the writer of its cuts. The
 * runner also holds the target's lease (`acquireLease`) and restores the latest checkpoint
 * (`restoreLatest`); replay restores a historical one.
 */
export class RunSetup {
  /**
   * Ends the retries of writes and checkpoint saves still pending (they fail: nothing more is
   * acked). Aborted by `close`, and before that by whoever decides the run must stop now.
   */
  readonly shutdown = new AbortController();
  private lease: Lease | undefined;

  private constructor(
    readonly definition: PipelineDefinition,
    readonly config: RuntimeConfig,
    readonly settings: PipelineSettings,
    readonly target: RunTarget,
    readonly log: (message: string) => void,
    readonly connections: Connections,
    readonly js: JetStreamClient,
    readonly jsm: JetStreamManager,
  ) {}

  /** Check the settings and the partition, and connect (as `<client>:<target>`). Close it with `close`. */
  static async open(definition: PipelineDefinition, options: RunSetupOptions, client: string): Promise<RunSetup> {
    const settings = parseConfig(PipelineSettings, definition.settings ?? {}, `pipeline '${definition.name}' settings`);
    const target = runTarget(definition, options.partition);
    // Before connecting: what shows only when build() runs (two operators with one id) fails here.
    assertPipelineBuilds(definition);
    const connections = await openConnections(options.config, `${client}:${target.label}`);
    try {
      const log = options.onLog ?? (() => {});
      // Asks the server for JetStream, which a cluster electing its meta leader cannot answer yet.
      const jsm = await retryWhileUnavailable(() => jetstreamManager(connections.nc), 'reaching JetStream', { signal: options.signal, log });
      return new RunSetup(definition, options.config, settings, target, log, connections, jetstream(connections.nc), jsm);
    } catch (error) {
      await closeConnections(connections);
      throw error;
    }
  }

  /**
   * One process at a time runs a target: wait for its lease, before anything of its state is
   * read. Undefined when `signal` aborted the wait (stopped while another process held it).
   * Released by `close`.
   */
  async acquireLease(signal: AbortSignal): Promise<Lease | undefined> {
    try {
      this.lease = await Lease.acquire(this.connections.nc, leaseBucket(this.config.checkpointBucket), this.target.checkpointKey, {
        ttlMs: this.settings.leaseTtlMs,
        signal,
        log: this.log,
        replicas: this.config.nats.streamReplicas,
      });
      return this.lease;
    } catch (error) {
      if (signal.aborted) return undefined;
      throw error;
    }
  }

  /** Run under a lease taken already (automatic balancing, core/balancer.ts); released by `close` like one acquired here. */
  adoptLease(lease: Lease): Lease {
    this.lease = lease;
    return lease;
  }

  /** Create the pipeline's streams and tables (see `preparePipeline`). */
  prepare(): Promise<BuildContext> {
    return preparePipeline(this.definition, this.config, this.connections);
  }

  openCheckpointStore(): Promise<CheckpointStore> {
    return CheckpointStore.open(this.connections.nc, this.config.checkpointBucket, this.config.nats.streamReplicas);
  }

  /**
   * The engine and cut writer, from `restored` state and counters. `publishDeadLetter` (replay):
   * whether a dead letter from a stream sequence goes to the DLQ stream (see `CutWriterOptions`).
   */
  start(
    context: BuildContext,
    restored: { operators?: Readonly<Record<string, unknown>>; counters?: Partial<CutWriterCounters> } = {},
    publishDeadLetter?: (seq: number) => boolean,
  ): RunParts {
    const { definition, target, log } = this;
    const engine = new PipelineEngine(definition, context, restored.operators ?? {}, target.rowPartition);
    const writer = new CutWriter(
      this.connections.clickhouse,
      context.database,
      this.js,
      {
        pipeline: definition.name,
        stream: definition.source.stream,
        partition: target.rowPartition,
        signal: this.shutdown.signal,
        log,
        ...(publishDeadLetter ? { publishDeadLetter } : {}),
      },
      restored.counters,
    );
    return { engine, writer };
  }

  /**
   * For the live runner, under its lease: prepare the pipeline, claim the target's latest
   * checkpoint for the lease (which fences off saves of earlier holders still in flight, see
   * core/latest-checkpoint.ts) and load it (refused if it is of another stream or format; without
   * one, the partition layout is checked), and start from it. Every step is idempotent, so the
   * whole is done again while JetStream does not answer (a cluster electing leaders), until `signal` aborts.
   */
  restoreLatest(
    lease: Lease,
    signal?: AbortSignal,
  ): Promise<RunParts & { latest: LatestCheckpoint; checkpoint: Checkpoint | undefined; historySavedAt: number }> {
    return retryWhileUnavailable(() => this.restoreLatestOnce(lease), 'restoring the latest checkpoint', { signal, log: this.log });
  }

  private async restoreLatestOnce(lease: Lease): Promise<RunParts & { latest: LatestCheckpoint; checkpoint: Checkpoint | undefined; historySavedAt: number }> {
    const { definition, target } = this;
    const context = await this.prepare();
    const store = await this.openCheckpointStore();
    const pointers = await leaseStore(this.connections.nc, leaseBucket(this.config.checkpointBucket), this.config.nats.streamReplicas);
    const { latest, checkpoint } = await LatestCheckpoint.claim(pointers, store, target.checkpointKey, lease.id);
    const stream = definition.source.stream;
    if (checkpoint && checkpoint.stream !== stream) {
      throw new Error(`checkpoint of '${target.label}' is for stream '${checkpoint.stream}', not '${stream}'; reset the pipeline`);
    }
    if (!checkpoint) await assertPartitionLayout(this.connections.nc, this.config.checkpointBucket, definition, target);
    const historySavedAt = await store.historySavedAt(target.checkpointKey);
    return { ...this.start(context, checkpoint ?? {}), latest, checkpoint, historySavedAt };
  }

  /** Graceful shutdown: the last cut, its checkpoint and ack, given up after `shutdownTimeoutMs` (nothing more is acked then). */
  async lastCut(feed: Feed): Promise<void> {
    const timeout = setTimeout(() => this.shutdown.abort(), this.settings.shutdownTimeoutMs);
    try {
      await feed.commit(true);
    } finally {
      clearTimeout(timeout);
    }
  }

  /** End pending retries, release the lease if held, close the connections. */
  async close(): Promise<void> {
    this.shutdown.abort();
    await this.lease?.release();
    await closeConnections(this.connections);
  }
}
