/**
 * Checkpoint saves at steady state, of the same snapshots two ways: whole, in one object (as
 * builds before incremental checkpoints saved every checkpoint), and incremental (what changed,
 * core/checkpoint-packs.ts), against the local NATS:
 *
 *   npx tsx scripts/bench-checkpoints.ts --event-rate 2000 --intervals 10
 *
 * The clickstream pipeline's operators run in memory (as in scripts/bench-engine.ts) over generated
 * traffic at `--event-rate` events per second of event time, until dedupe (10 minutes of event
 * time, at most 1M keys) is full: 2,000/s puts 1.2M event ids in its TTL. Then each interval
 * pushes `--interval-events` more (100k: a 5 s checkpoint interval at 20k events/s), snapshots as
 * the runner's cut does, and saves the snapshot both ways, alternating which goes first. Prints a
 * line per interval and a JSON summary: bytes written per interval and save times (wall, and the
 * CPU of this process and of the local nats-server meanwhile), medians over the intervals after
 * the first incremental save (which writes all), and the space the packs take at the end.
 * `--by-part` also prints, per interval, what each part of the state (`<operator>.<field>`) would
 * write on its own, new MB / all MB, parts of 0.1 MB or more (bench/checkpoint-parts.ts).
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { connect } from '@nats-io/transport-node';
import { Command } from 'commander';
import { CheckpointParts } from '../bench/checkpoint-parts.ts';
import { inMemoryClickstreamContext } from '../bench/engine-context.ts';
import { newRunId } from '../bench/names.ts';
import { median } from '../bench/percentile.ts';
import { collectGarbage } from '../bench/rss.ts';
import { serverCpuMicrosPerEvent, serverCpuSeconds } from '../bench/server-cpu.ts';
import { workload, workloadKnobs } from '../bench/workload.ts';
import { positiveInt } from '../cli/int-options.ts';
import { encodeCheckpoint } from '../core/checkpoint-codec.ts';
import { packPrefix } from '../core/checkpoint-packs.ts';
import { CHECKPOINT_FORMAT, type Checkpoint, CheckpointStore, checkpointStreams, readableInPieces } from '../core/checkpoint-store.ts';
import { configFromEnv } from '../core/config.ts';
import { PipelineEngine } from '../core/engine.ts';
import { LatestCheckpoint } from '../core/latest-checkpoint.ts';
import { leaseBucket, leaseStore } from '../core/lease.ts';
import { createClickstreamPipeline } from '../pipelines/clickstream.ts';
import { releaseSnapshot, SnapshotBuffers } from '../state/snapshot-buffers.ts';

const opts = new Command()
  .name('bench-checkpoints')
  .option('--event-rate <n>', 'events per second of event time in the generated traffic', positiveInt, 2_000)
  .option('--interval-events <n>', 'events between checkpoints', positiveInt, 100_000)
  .option('--intervals <n>', 'checkpoints measured', positiveInt, 10)
  .option('--by-part', 'also print what each part of the state would write on its own, per interval')
  .parse()
  .opts<{ eventRate: number; intervalEvents: number; intervals: number; byPart?: boolean }>();

const WARMUP_EVENTS = Math.ceil(opts.eventRate * 600 * 1.1);
const total = WARMUP_EVENTS + opts.intervals * opts.intervalEvents;
const traffic = workload({
  seed: 11,
  startTime: Date.now() - Math.ceil((total * 1000) / opts.eventRate),
  eventsPerSecond: opts.eventRate,
  users: 600 * opts.eventRate,
  ...workloadKnobs,
});
const engine = new PipelineEngine(createClickstreamPipeline(), inMemoryClickstreamContext('bench_checkpoints'));
let seq = 0;

/** Push `count` generated messages through the operators, their rows dropped as the runner's cuts hand them over. */
async function push(count: number): Promise<void> {
  const now = Date.now();
  for (let i = 0; i < count; i++) {
    const m = traffic.next();
    if (m.done) throw new Error('the workload ended');
    seq++;
    engine.push({ payload: m.value.payload, subject: 'bench.events.0', seq, published: 'event' in m.value ? Math.max(m.value.event.ts, now - 1000) : now });
    if (engine.pending() > 10_000) await engine.idle();
    if (engine.bufferedRows >= 50_000) {
      await engine.idle();
      for (const table of engine.cut(undefined).rows.values()) table.release();
    }
  }
  await engine.idle();
}

/** The save of builds before incremental checkpoints: the whole checkpoint, encoded and streamed into one object. */
async function saveWhole(objects: Awaited<ReturnType<Objm['create']>>, name: string, checkpoint: Checkpoint): Promise<number> {
  const info = await objects.put({ name, options: { max_chunk_size: 1024 * 1024 - 4096 } }, readableInPieces(encodeCheckpoint(checkpoint), 64 * 1024));
  return info.size;
}

/**
 * Wall milliseconds of `work`, and the CPU milliseconds this process and the local nats-server spent
 * meanwhile. The garbage of what ran before is collected first, and the sweeping that follows a
 * collection on V8's threads given 200 ms to end: a full collection of the operators' heap falling
 * inside a save (0.2-1.3 s of CPU) was most of the spread between saves, whichever save it fell in.
 */
async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number; cpuMs: number; natsCpuMs: number }> {
  collectGarbage();
  await new Promise((resolve) => setTimeout(resolve, 200));
  const cpu = process.cpuUsage();
  const servers = serverCpuSeconds();
  const started = performance.now();
  const value = await work();
  const used = process.cpuUsage(cpu);
  // Microseconds per 1,000 "events": milliseconds in all.
  const natsCpuMs = serverCpuMicrosPerEvent(servers, serverCpuSeconds(), 1_000)['nats-server'] ?? NaN;
  return { value, ms: performance.now() - started, cpuMs: (used.user + used.system) / 1000, natsCpuMs };
}

const bucket = `rxa_bench_ckpt_${newRunId()}`;
const key = 'bench.checkpoints';
const nc = await connect({ servers: configFromEnv().nats.servers, name: 'rxa:bench-checkpoints' });
const jsm = await jetstreamManager(nc);
try {
  const store = await CheckpointStore.open(nc, bucket);
  const objects = await new Objm(nc).create(bucket);
  const { latest } = await LatestCheckpoint.claim(await leaseStore(nc, leaseBucket(bucket)), store, key, 'bench');
  process.stderr.write(`warming up: ${WARMUP_EVENTS} events at ${opts.eventRate}/s of event time\n`);
  await push(WARMUP_EVENTS);
  const buffers = new SnapshotBuffers();
  type Save = { bytes: number; ms: number; cpuMs: number; natsCpuMs: number };
  const rows: Array<{ stateBytes: number; whole: Save; incremental: Save }> = [];
  const parts = opts.byPart ? new CheckpointParts() : undefined;
  for (let i = 0; i < opts.intervals; i++) {
    await push(opts.intervalEvents);
    const { snapshot } = engine.cut(buffers);
    if (!snapshot) throw new Error('the cut took no snapshot');
    const checkpoint: Checkpoint = {
      format: CHECKPOINT_FORMAT,
      pipeline: 'bench',
      stream: 'BENCH',
      lastSeq: seq,
      takenAt: Date.now(),
      operators: snapshot,
      counters: {},
    };
    const whole = () => timed(() => saveWhole(objects, `${key}.whole`, checkpoint));
    const incremental = () => timed(() => latest.save(checkpoint));
    const [w, inc] = i % 2 === 0 ? [await whole(), await incremental()] : await incremental().then(async (x) => [await whole(), x] as const);
    if (parts) {
      const mb = (bytes: number) => (bytes / 1e6).toFixed(2);
      const sizes = [...(await parts.measure(snapshot))].filter(([, p]) => p.bytes >= 100_000).map(([part, p]) => `${part} ${mb(p.fresh)}/${mb(p.bytes)}`);
      process.stderr.write(`  new/all MB by part: ${sizes.join(', ')}\n`);
    }
    releaseSnapshot(snapshot);
    const row = {
      stateBytes: inc.value.bytes,
      whole: { bytes: w.value, ms: Math.round(w.ms), cpuMs: Math.round(w.cpuMs), natsCpuMs: Math.round(w.natsCpuMs) },
      incremental: { bytes: inc.value.written, ms: Math.round(inc.ms), cpuMs: Math.round(inc.cpuMs), natsCpuMs: Math.round(inc.natsCpuMs) },
    };
    rows.push(row);
    process.stderr.write(`${JSON.stringify({ interval: i + 1, keys: engine.stats()['dedupe.keys'], ...row })}\n`);
  }
  const steady = rows.slice(1);
  const mb = (bytes: number) => +(bytes / 1e6).toFixed(2);
  const packs = await store.objects(packPrefix(key));
  console.log(
    JSON.stringify({
      eventRate: opts.eventRate,
      intervalEvents: opts.intervalEvents,
      intervals: steady.length,
      dedupeKeys: engine.stats()['dedupe.keys'],
      stateMB: mb(median(steady.map((r) => r.stateBytes))),
      whole: {
        writtenMBPerInterval: mb(median(steady.map((r) => r.whole.bytes))),
        saveMs: median(steady.map((r) => r.whole.ms)),
        saveMsMax: Math.max(...steady.map((r) => r.whole.ms)),
        cpuMs: median(steady.map((r) => r.whole.cpuMs)),
        natsCpuMs: median(steady.map((r) => r.whole.natsCpuMs)),
      },
      incremental: {
        writtenMBPerInterval: mb(median(steady.map((r) => r.incremental.bytes))),
        writtenMBMax: mb(Math.max(...steady.map((r) => r.incremental.bytes))),
        saveMs: median(steady.map((r) => r.incremental.ms)),
        saveMsMax: Math.max(...steady.map((r) => r.incremental.ms)),
        cpuMs: median(steady.map((r) => r.incremental.cpuMs)),
        natsCpuMs: median(steady.map((r) => r.incremental.natsCpuMs)),
        writtenMBMean: mb(steady.reduce((n, r) => n + r.incremental.bytes, 0) / steady.length),
        packsMB: mb(packs.reduce((n, p) => n + p.bytes, 0)),
        packs: packs.length,
      },
    }),
  );
} finally {
  for (const stream of checkpointStreams(bucket)) await jsm.streams.delete(stream).catch(() => {});
  await nc.close();
}
