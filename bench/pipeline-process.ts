/**
 * Child process of the benchmark's pipeline phase (see `pipelineThroughput`): runs the job given
 * as JSON in argv[2], prints the result as one JSON line on stdout and progress on stderr.
 */

import { getHeapSpaceStatistics } from 'node:v8';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { measurePipelineThroughput, type PipelineThroughputJob } from './pipeline-throughput.ts';

const job = JSON.parse(process.argv[2] ?? '') as PipelineThroughputJob;
const nc = await connect({ servers: job.config.nats.servers, name: 'rxa:bench-pipeline-phase', noAsyncTraces: true });
try {
  const result = await measurePipelineThroughput(job, await jetstreamManager(nc), (s) => {
    const m = process.memoryUsage();
    const mb = (n: number): number => Math.round(n / 1_048_576);
    // Where the RSS is: V8's heap (used / reserved), and memory outside it (Buffers, typed arrays).
    process.stderr.write(
      `progress ${s.eventsIn} in, ${s.eventsPerSecond}/s, ${s.rowsWritten} rows, rss ${mb(m.rss)} MB (heap ${mb(m.heapUsed)}/${mb(m.heapTotal)}, external ${mb(m.external)}) ${getHeapSpaceStatistics()
        .filter((x) => x.space_used_size > 4e6)
        .map((x) => `${x.space_name.replace('_space', '')} ${mb(x.space_used_size)}`)
        .join(' ')}\n`,
    );
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  await nc.drain();
}
