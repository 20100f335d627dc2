import { jetstreamManager } from '@nats-io/jetstream';
import { connectNats } from './connections.ts';
import { uncoveredMessages } from './partition-coverage.ts';
import { allRunTargets, type RunTarget, runTarget } from './partitions.ts';
import type { PipelineDefinition } from './pipeline.ts';
import { type PipelineStatus, type RunOptions, runPipeline } from './runner.ts';

export interface RunPartitionsOptions extends Omit<RunOptions, 'partition' | 'onStatus'> {
  /** Partitions to run here. @default all of them (the single runner of an unpartitioned pipeline) */
  partitions?: readonly number[];
  onStatus?: (status: PipelineStatus, target: RunTarget) => void;
}

export interface PartitionResult {
  target: RunTarget;
  status: PipelineStatus;
}

/**
 * Run partitions of a pipeline in this process: one `runPipeline` each (its own consumer,
 * checkpoint, operator state and connections), concurrently, all stopped by `signal`. Which process
 * runs which partition is up to whoever starts them (`rxa run --partitions`); a partition's state
 * follows it, because it lives in that partition's checkpoint, not in the process.
 *
 * If one runner fails, the others are stopped gracefully (last cut, checkpoint, ack) and the first
 * error is thrown. Log messages of a partition are prefixed with `[p<n>]`.
 */
export async function runPartitions(definition: PipelineDefinition, options: RunPartitionsOptions): Promise<PartitionResult[]> {
  const targets = options.partitions ? options.partitions.map((p) => runTarget(definition, p)) : allRunTargets(definition);
  if (targets.length === 0) throw new Error(`no partition of '${definition.name}' to run`);
  const log = options.onLog ?? (() => {});
  await warnUncovered(definition, options, log);

  const stop = new AbortController();
  const onAbort = (): void => stop.abort();
  options.signal.addEventListener('abort', onAbort, { once: true });
  if (options.signal.aborted) stop.abort();
  let failure: { error: unknown } | undefined;
  try {
    const runs = targets.map(async (target): Promise<PartitionResult> => {
      const prefix = target.partition === undefined ? '' : `[p${target.partition}] `;
      try {
        const status = await runPipeline(definition, {
          ...options,
          signal: stop.signal,
          ...(target.partition !== undefined ? { partition: target.partition } : {}),
          onStatus: (status) => options.onStatus?.(status, target),
          onLog: (message) => log(`${prefix}${message}`),
        });
        return { target, status };
      } catch (error) {
        // The first failure stops the others; they still flush, checkpoint and ack what they did.
        failure ??= { error };
        stop.abort();
        throw error;
      }
    });
    const settled = await Promise.allSettled(runs);
    if (failure) throw failure.error;
    return settled.map((s) => (s as PromiseFulfilledResult<PartitionResult>).value);
  } finally {
    options.signal.removeEventListener('abort', onAbort);
  }
}

export async function warnUncovered(
  definition: PipelineDefinition,
  options: Pick<RunPartitionsOptions, 'config'>,
  log: (message: string) => void,
): Promise<void> {
  if (!definition.source.partitions) return;
  const nc = await connectNats(options.config, `rxa:${definition.name}:coverage`);
  try {
    const coverage = await uncoveredMessages(await jetstreamManager(nc), definition);
    if (coverage && coverage.uncovered > 0) {
      log(
        `warning: ${coverage.uncovered.toLocaleString('en-US')} of the ${coverage.total.toLocaleString('en-US')} messages in stream ` +
          `${definition.source.stream} are on subjects none of the ${definition.source.partitions.count} partitions reads ` +
          `(do publishers use more partitions than the pipeline declares?); they will not be processed`,
      );
    }
  } finally {
    await nc.close();
  }
}
