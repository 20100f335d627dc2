/**
 * The clickstream pipeline's operators alone, in memory (no NATS, no ClickHouse): how many events
 * per second one core folds through validate → dedupe → enrich → every window, with a cut (early
 * results + rows handed over) every `flushRows` rows and a snapshot every `--snapshot-every` events
 * like the runner's checkpoints. For profiling operator changes quickly (the profile covers the
 * timed loop only, not the generation of its input):
 *
 *   npx tsx scripts/bench-engine.ts --events 500000 --cpu-prof engine.cpuprofile
 *
 * `--peer noop` and `--outputs events,sessions` run what `bench-pipeline` runs with them: the
 * difference between two runs is what the operators left out cost, without the I/O's noise.
 */
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { Command, Option } from 'commander';
import { inMemoryClickstreamContext } from '../bench/engine-context.ts';
import { createPeerPipeline, onlyOutputs, type PeerPipeline } from '../bench/peer-pipelines.ts';
import { bulkWorkload } from '../bench/workload.ts';
import { positiveInt } from '../cli/int-options.ts';
import { PipelineEngine, type SourceRecord } from '../core/engine.ts';
import type { PipelineDefinition } from '../core/pipeline.ts';
import { createClickstreamPipeline } from '../pipelines/clickstream.ts';
import { releaseSnapshot, SnapshotBuffers } from '../state/snapshot-buffers.ts';

const opts = new Command()
  .name('bench-engine')
  .option('--events <n>', 'events to push', positiveInt, 500_000)
  .option(
    '--snapshot-every <n>',
    'take a checkpoint snapshot (and JSON.stringify it) every n events; snapshotCutMs is the synchronous cuts that took them, serializeMs their JSON',
    positiveInt,
    250_000,
  )
  .option('--cpu-prof <file>', 'write a CPU profile of the timed loop to this file')
  .addOption(new Option('--peer <peer>', 'run a peer instead of the clickstream pipeline (bench/peer-pipelines.ts)').choices(['noop', 'materialized-views']))
  .option('--outputs <names>', 'run only these outputs (tables) of the pipeline, comma-separated', (v: string) => v.split(','))
  .parse()
  .opts<{ events: number; snapshotEvery: number; cpuProf?: string; peer?: PeerPipeline; outputs?: string[] }>();

const context = inMemoryClickstreamContext('bench_engine');

// The input as bytes outside the JS heap, its records made as they are pushed (as the runner makes
// them from messages): half a million records held as objects were most of what every full
// collection of the timed loop marked, and the collector's share of the figures was theirs.
const payloads: Uint8Array[] = [];
const published = new Float64Array(opts.events);
const now = Date.now();
let total = 0;
for (const m of bulkWorkload(opts.events, 7)) {
  published[payloads.length] = 'event' in m ? Math.max(m.event.ts, now - 1000) : now;
  payloads.push(m.payload);
  total += m.payload.byteLength;
  if (payloads.length === opts.events) break;
}
const input = Buffer.allocUnsafeSlow(total);
const ends = new Uint32Array(payloads.length);
let filled = 0;
payloads.forEach((payload, i) => {
  input.set(payload, filled);
  filled += payload.byteLength;
  ends[i] = filled;
});
payloads.length = 0;
const record = (i: number): SourceRecord => ({
  payload: input.subarray(i === 0 ? 0 : ends[i - 1]!, ends[i]!),
  subject: 'bench.events.0',
  seq: i + 1,
  published: published[i]!,
});
const count = ends.length;

const full: PipelineDefinition = opts.peer ? createPeerPipeline(opts.peer, {}) : createClickstreamPipeline();
const engine = new PipelineEngine(opts.outputs ? onlyOutputs(full, opts.outputs) : full, context);
/** The snapshot columns' memory, reused from snapshot to snapshot as the checkpointer does (core/checkpointer.ts). */
const snapshotBuffers = new SnapshotBuffers();
let rows = 0;
/** The synchronous cuts that took a snapshot (the pipeline stalls for these), and their serialization. */
let snapshotCutMs = 0;
let serializeMs = 0;
let snapshotBytes = 0;
const session = new Session();
if (opts.cpuProf) {
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
}
const started = performance.now();
const cpuStarted = process.cpuUsage();
for (let i = 0; i < count; i++) {
  engine.push(record(i));
  if (engine.pending() > 10_000) await engine.idle();
  const snapshot = (i + 1) % opts.snapshotEvery === 0;
  if (engine.bufferedRows >= 50_000 || snapshot) {
    await engine.idle();
    const t = performance.now();
    const cut = engine.cut(snapshot ? snapshotBuffers : undefined);
    if (cut.snapshot) {
      const cutDone = performance.now();
      snapshotCutMs += cutDone - t;
      snapshotBytes = JSON.stringify(cut.snapshot).length;
      serializeMs += performance.now() - cutDone;
      // Serialized: its columns' memory serves the next snapshot, as the checkpointer's saved checkpoints do.
      releaseSnapshot(cut.snapshot);
    }
    for (const table of cut.rows.values()) {
      rows += table.length;
      table.release();
    }
  }
}
await engine.idle();
const cut = engine.cut(undefined);
for (const table of cut.rows.values()) rows += table.length;
const seconds = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpuStarted);
if (opts.cpuProf) {
  const { profile } = await session.post('Profiler.stop');
  await writeFile(opts.cpuProf, JSON.stringify(profile));
  session.disconnect();
}
console.log(
  JSON.stringify({
    events: count,
    eventsPerSecond: Math.round(count / seconds),
    microsPerEvent: +((seconds * 1e6) / count).toFixed(2),
    // The collector's helper threads included: on a busy machine the wall clock above counts waits too.
    cpuMicrosPerEvent: +((cpu.user + cpu.system) / count).toFixed(2),
    rows,
    snapshots: Math.floor(count / opts.snapshotEvery),
    snapshotCutMs: Math.round(snapshotCutMs),
    serializeMs: Math.round(serializeMs),
    lastSnapshotMB: +(snapshotBytes / 1e6).toFixed(1),
    stats: engine.stats(),
  }),
);
