/**
 * A checkpoint an earlier build wrote (format 1, 0.1) is refused when a run starts, with the way
 * out in the error (`rxa reset`): nothing is read from it, no consumer is created, nothing acked.
 * After the reset the pipeline starts over from the stream's beginning, and the totals are exact.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { resetPipeline } from '../cli/reset.ts';
import { pipelineCheckpointKey } from '../core/partitions.ts';
import { runPipeline } from '../core/runner.ts';
import { createClickstreamPipeline } from '../pipelines/clickstream.ts';
import { consumerInfo } from '../sources/durable-consumer.ts';
import { clickstreamInput, publishInput } from './support/clickstream-input.ts';
import { waitFor } from './support/helpers.ts';
import { expectClickstreamExact } from './support/read-clickstream.ts';
import { useTestServers } from './support/test-servers.ts';
import { startClickstream } from './support/watched-runner.ts';
import { saveWholeCheckpoint } from './support/whole-checkpoint.ts';

const env = useTestServers('format', { bucket: 'rxa_format' });
const { names, database, bucket, config } = env;
const settings = { flushIntervalMs: 200, checkpointIntervalMs: 300 };

describe('a checkpoint of an earlier format', () => {
  it('is refused at start, naming `rxa reset`; after the reset the pipeline starts over', async () => {
    const all = clickstreamInput({ count: 3_000, seed: 31 });
    const { lastSeq } = await publishInput(env.nc, names.stream, names.subjectPrefix, all);
    const pipeline = createClickstreamPipeline({ ...names, settings });
    const key = pipelineCheckpointKey(names.name);
    const old = { format: 1, pipeline: names.name, stream: names.stream, lastSeq: 1_000, takenAt: Date.now(), operators: {}, counters: {} };
    await saveWholeCheckpoint(env.nc, bucket, key, old);

    await expect(runPipeline(pipeline, { config, signal: new AbortController().signal })).rejects.toThrow(
      `checkpoint '${key}' is format 1, this build reads formats 2 and 3: run \`rxa reset <pipeline>\` to start over`,
    );
    expect(await consumerInfo(await jetstreamManager(env.nc), names.stream, names.name)).toBeUndefined();

    // The lease was released on the way out: the reset does not wait for it.
    await resetPipeline(config, pipeline, { signal: AbortSignal.timeout(10_000) });
    const runner = startClickstream(names, settings, config);
    try {
      await waitFor(() => (runner.status()?.ackedSeq ?? 0) >= lastSeq, 60_000, 'the pipeline to process the stream from its beginning');
      await runner.stop();
    } finally {
      await runner.dispose();
    }
    await expectClickstreamExact(config.clickhouse, database, names.name, all);
  }, 120_000);
});
