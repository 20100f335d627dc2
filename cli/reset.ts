import { jetstreamManager } from '@nats-io/jetstream';
import { CheckpointStore } from '../core/checkpoint-store.ts';
import { parseConfig, type RuntimeConfig } from '../core/config.ts';
import { connectNats } from '../core/connections.ts';
import { deleteLatestCheckpoint } from '../core/latest-checkpoint.ts';
import { Lease, leaseBucket, leaseStore } from '../core/lease.ts';
import { pipelineCheckpointKey } from '../core/partitions.ts';
import { type PipelineDefinition, PipelineSettings } from '../core/pipeline.ts';
import { consumerInfo } from '../sources/durable-consumer.ts';
import { isNotFound } from '../sources/streams.ts';

export interface ResetOptions {
  /** Aborts waiting for a running process of the pipeline to stop. */
  signal?: AbortSignal;
  log?: (message: string) => void;
}

/**
 * Delete a pipeline's checkpoints (latest and history) and durable consumers: the next run starts
 * from the stream's beginning. Both layouts are cleared, whichever the definition has now: the
 * unpartitioned state and every partition's (those of the definition's count, and any other
 * `<consumer>_p<n>` on the stream, e.g. from a larger count before). It holds each one's lease
 * while it does (see core/lease.ts), so it waits for a running process of the pipeline to stop
 * instead of deleting state from under it.
 */
export async function resetPipeline(config: RuntimeConfig, definition: PipelineDefinition, options: ResetOptions = {}): Promise<string[]> {
  const { leaseTtlMs } = parseConfig(PipelineSettings, definition.settings ?? {}, `pipeline '${definition.name}' settings`);
  // NATS alone: checkpoints and consumers live there (the tables are kept).
  const nc = await connectNats(config, `rxa:reset:${definition.name}`);
  const leases: Lease[] = [];
  try {
    const replicas = config.nats.streamReplicas;
    const store = await CheckpointStore.open(nc, config.checkpointBucket, replicas);
    const pointers = await leaseStore(nc, leaseBucket(config.checkpointBucket), replicas);
    const jsm = await jetstreamManager(nc);
    const { stream } = definition.source;
    const consumer = definition.source.consumer ?? definition.name;
    const partitions = new Set(Array.from({ length: definition.source.partitions?.count ?? 0 }, (_, p) => p));
    const partitionConsumer = new RegExp(`^${consumer}_p(\\d+)$`);
    try {
      for await (const info of jsm.consumers.list(stream)) {
        const match = partitionConsumer.exec(info.name);
        if (match) partitions.add(Number(match[1]));
      }
    } catch (error) {
      if (!isNotFound(error)) throw error; // no stream: no consumers
    }
    const targets = [
      [pipelineCheckpointKey(definition.name), consumer],
      ...[...partitions].map((p) => [pipelineCheckpointKey(definition.name, p), `${consumer}_p${p}`]),
    ] as const;
    const signal = options.signal ?? new AbortController().signal;
    for (const [key] of targets)
      leases.push(
        await Lease.acquire(nc, leaseBucket(config.checkpointBucket), key, { ttlMs: leaseTtlMs, signal, ...(options.log ? { log: options.log } : {}) }),
      );
    const deleted: string[] = [];
    for (const [key, durable] of targets) {
      for (const old of await store.history(key)) await store.delete(old.name);
      await deleteLatestCheckpoint(pointers, store, key);
      if (await consumerInfo(jsm, stream, durable)) {
        await jsm.consumers.delete(stream, durable);
        deleted.push(durable);
      }
    }
    return deleted;
  } finally {
    for (const lease of leases) await lease.release();
    await nc.drain();
  }
}
