import { jetstreamManager } from '@nats-io/jetstream';
import { CheckpointStore } from '../core/checkpoint-store.ts';
import type { RuntimeConfig } from '../core/config.ts';
import type { PipelineDefinition } from '../core/pipeline.ts';
import { closeConnections, openConnections, pipelineCheckpointKey } from '../core/runner.ts';
import { consumerInfo } from '../sources/durable-consumer.ts';

/** Delete a pipeline's checkpoints (latest and history) and durable consumer: the next run starts from the stream's beginning. */
export async function resetPipeline(config: RuntimeConfig, definition: PipelineDefinition): Promise<void> {
  const connections = await openConnections(config, `rxa:reset:${definition.name}`);
  try {
    const store = await CheckpointStore.open(connections.nc, config.checkpointBucket);
    const key = pipelineCheckpointKey(definition.name);
    for (const old of await store.history(key)) await store.delete(old.name);
    await store.delete(key).catch(() => {});
    const jsm = await jetstreamManager(connections.nc);
    const durable = definition.source.consumer ?? definition.name;
    if (await consumerInfo(jsm, definition.source.stream, durable)) await jsm.consumers.delete(definition.source.stream, durable);
  } finally {
    await closeConnections(connections);
  }
}
