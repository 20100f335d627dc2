/**
 * Child process of the benchmark's pipeline phase (see `pipelineThroughput`): runs the job given
 * as JSON in argv[2], prints the result as one JSON line on stdout and progress on stderr.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { type PipelineThroughputJob, measurePipelineThroughput } from './pipeline-throughput.ts';

const job = JSON.parse(process.argv[2] ?? '') as PipelineThroughputJob;
const nc = await connect({ servers: job.config.nats.servers, name: 'rxa:bench-pipeline-phase', noAsyncTraces: true });
try {
  const result = await measurePipelineThroughput(job, await jetstreamManager(nc), (s) => {
    const rss = Math.round(process.memoryUsage.rss() / 1_048_576);
    process.stderr.write(`progress ${s.eventsIn} in, ${s.eventsPerSecond}/s, ${s.rowsWritten} rows, rss ${rss} MB\n`);
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  await nc.drain();
}
