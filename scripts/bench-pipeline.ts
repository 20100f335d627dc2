/**
 * The pipeline phase of `npm run bench` alone, for profiling:
 *
 *   npx tsx scripts/bench-pipeline.ts --events 500000 --cpu-prof pipeline.cpuprofile
 *
 * Pre-publishes (untimed), runs the clickstream pipeline over the stream in a process of its own
 * (as `npm run bench` does), prints its rate and peak RSS, and removes what it created.
 * `--cpu-prof` profiles that process's pipeline run; open the file in Chrome DevTools. `--heap-prof`
 * samples its allocations, garbage included (DevTools' Memory tab loads it), and `--node-flags`
 * passes flags to its node (`--node-flags=--trace-gc`).
 * `--instances n` runs it partitioned instead, in n processes side by side (scaling past one process).
 * `--peer noop|materialized-views` runs one of the benchmark's peers instead (bench/peer-pipelines.ts).
 * `--outputs events,sessions` runs only those outputs of the pipeline (what an operator costs: the difference).
 * `--trace-sample 0.01` traces the pipeline as `npm run bench -- --trace-sample` does (bench/tracing.ts).
 */
import { resolve } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { Command, InvalidArgumentError, Option } from 'commander';
import { dropPhase, newRunId, phaseNames } from '../bench/names.ts';
import type { PeerPipeline } from '../bench/peer-pipelines.ts';
import { pipelineThroughput } from '../bench/pipeline-throughput.ts';
import { PARTITIONS, publishBulk } from '../bench/publish-bulk.ts';
import { ratioOption } from '../bench/ratio-option.ts';
import { positiveInt } from '../cli/int-options.ts';
import { createClickHouseClient } from '../core/clickhouse-client.ts';
import { configFromEnv } from '../core/config.ts';
import type { PipelineSettingsInput } from '../core/pipeline.ts';

const {
  events: count,
  cpuProf,
  heapProf,
  nodeFlags,
  settings,
  instances,
  peer,
  outputs,
  traceSample,
} = new Command()
  .name('bench-pipeline')
  .option('--events <n>', 'events to pre-publish', positiveInt, 500_000)
  .option('--instances <n>', `run the pipeline partitioned (${PARTITIONS} partitions) in n processes side by side`, positiveInt)
  .option('--cpu-prof <file>', 'write a CPU profile of the pipeline phase to this file')
  .option('--heap-prof <file>', 'write a sampling profile of every allocation of the pipeline phase (garbage included) to this file')
  .option('--node-flags <flags>', "flags for the pipeline process's node, space-separated (e.g. --trace-gc)", (v: string) =>
    v.split(' ').filter((f) => f !== ''),
  )
  .addOption(new Option('--peer <peer>', 'run a peer instead of the clickstream pipeline (bench/peer-pipelines.ts)').choices(['noop', 'materialized-views']))
  .option('--outputs <names>', 'run only these outputs (tables) of the pipeline, comma-separated', (v: string) => v.split(','))
  .option('--settings <json>', 'override pipeline settings, e.g. \'{"checkpointIntervalMs":30000}\'', (v: string) => JSON.parse(v) as PipelineSettingsInput)
  .option('--trace-sample <ratio>', 'trace the pipeline, this ratio of events and cuts sampled (spans counted, not sent)', ratioOption)
  .parse()
  .opts<{
    events: number;
    cpuProf?: string;
    heapProf?: string;
    nodeFlags?: string[];
    settings?: PipelineSettingsInput;
    instances?: number;
    peer?: PeerPipeline;
    outputs?: string[];
    traceSample?: number;
  }>();
if (instances !== undefined && (instances > PARTITIONS || cpuProf || heapProf)) {
  throw new InvalidArgumentError(`--instances: at most ${PARTITIONS}, and not with --cpu-prof or --heap-prof`);
}

const names = phaseNames(newRunId(), 'prof');
const base = configFromEnv();
const nc = await connect({ servers: base.nats.servers, name: 'rxa:bench-pipeline', noAsyncTraces: true });
const jsm = await jetstreamManager(nc);
const clickhouse = createClickHouseClient(base.clickhouse);
try {
  const stream = await publishBulk(nc, jsm, names, count, () => {}, traceSample);
  process.stderr.write(`published ${stream.messages} in ${stream.seconds.toFixed(1)} s\n`);
  const job = {
    config: configFromEnv(process.env, { clickhouse: { database: names.database }, checkpointBucket: names.bucket }),
    names,
    stream,
    ...(settings ? { settings } : {}),
    ...(peer ? { peer } : {}),
    ...(outputs ? { outputs } : {}),
    ...(traceSample !== undefined ? { traceSample } : {}),
    ...(nodeFlags ? { nodeFlags } : {}),
  };
  let result: object;
  if (instances === undefined) {
    const profiles = { ...(cpuProf ? { cpuProf: resolve(cpuProf) } : {}), ...(heapProf ? { heapProf: resolve(heapProf) } : {}) };
    result = await pipelineThroughput({ ...job, ...profiles }, (line) => process.stderr.write(`  ${line}\n`));
  } else {
    // Instance i runs the partitions p with p % instances = i, each in its own process.
    const runs = await Promise.all(
      Array.from({ length: instances }, (_, i) =>
        pipelineThroughput({ ...job, partitions: { count: PARTITIONS, run: [...Array(PARTITIONS).keys()].filter((p) => p % instances === i) } }, (line) =>
          process.stderr.write(`  [${i}] ${line}\n`),
        ),
      ),
    );
    const events = runs.reduce((n, r) => n + r.events, 0);
    const seconds = (Math.max(...runs.map((r) => r.endedAt)) - Math.min(...runs.map((r) => r.startedAt))) / 1000;
    result = { instances, events, seconds, perSecond: events / seconds, peakRssMbPerInstance: runs.map((r) => r.peakRssMb), perInstance: runs };
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  await dropPhase(jsm, clickhouse, names);
  await clickhouse.close();
  await nc.drain();
}
