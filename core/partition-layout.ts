import type { NatsConnection } from '@nats-io/transport-node';
import { CheckpointStore } from './checkpoint-store.ts';
import { hasLatestCheckpoint } from './latest-checkpoint.ts';
import { leaseBucket, leaseStore } from './lease.ts';
import { pipelineCheckpointKey, type RunTarget } from './partitions.ts';
import type { PipelineDefinition } from './pipeline.ts';

/**
 * Refuse to start a runner on state written under the other layout. An unpartitioned run keeps
 * every key under `rxa_partition` 0; partitions keep their keys under their own number. Starting
 * the other way round on the same tables would write every key a second time (sums double), so
 * the user must reset first. Checked only when the runner has no checkpoint of its own (a fresh
 * start): the existence of a checkpoint, none read.
 */
export async function assertPartitionLayout(nc: NatsConnection, bucket: string, definition: PipelineDefinition, target: RunTarget): Promise<void> {
  const { name } = definition;
  const other = target.partition === undefined ? pipelineCheckpointKey(name, 0) : pipelineCheckpointKey(name);
  if (!(await hasLatestCheckpoint(await leaseStore(nc, leaseBucket(bucket)), await CheckpointStore.open(nc, bucket), other))) return;
  const was = target.partition === undefined ? 'a partitioned' : 'an unpartitioned';
  throw new Error(
    `pipeline '${name}' has state from ${was} run (checkpoint '${other}'), whose rows would be counted twice next to this run's. ` +
      `To change how it is partitioned: stop every instance, \`rxa reset <pipeline>\`, drop (or truncate) its tables, then run it: it reprocesses the stream.`,
  );
}
