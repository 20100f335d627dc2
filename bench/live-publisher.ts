/**
 * Worker thread of the latency phase: publishes generated events paced at a fixed rate and records
 * when each event that becomes a `clickstream_events` row was sent. It runs on its own thread so
 * the pipeline's event loop (a long cut or checkpoint) cannot delay publishing, which would hide
 * exactly the latency being measured; producers are separate from the pipeline in production too.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { connect } from '@nats-io/transport-node';
import { partitionSubject } from '../generator/publish.ts';
import { becomesEventRow, workload, workloadKnobs } from './workload.ts';

export interface LivePublisherInput {
  readonly servers: string;
  readonly subjectPrefix: string;
  readonly partitions: number;
  readonly rate: number;
  readonly count: number;
  readonly users: number;
  /** Float64Array of epoch ms (high resolution), one slot per message, filled in row order. */
  readonly sentAt: SharedArrayBuffer;
}

export interface LivePublisherOutput {
  readonly rows: number;
  readonly published: number;
  readonly seconds: number;
}

/** Publishing wakes up this often and sends every message due by then (no timer per message). */
const TICK_MS = 5;

const input = workerData as LivePublisherInput;
const sentAt = new Float64Array(input.sentAt);
const now = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const nc = await connect({ servers: input.servers, name: 'rxa:bench-live' });

/** Messages due before the clock starts, so the timed loop only publishes bytes. */
interface Prepared {
  readonly subjects: string[];
  readonly payloads: Uint8Array[];
  /** Whether message i becomes a `clickstream_events` row. */
  readonly rows: Uint8Array;
}

function prepare(startTime: number, count: number): Prepared {
  const source = workload({ seed: 13, startTime, eventsPerSecond: input.rate, users: input.users, ...workloadKnobs });
  const prepared: Prepared = { subjects: new Array<string>(count), payloads: new Array<Uint8Array>(count), rows: new Uint8Array(count) };
  for (let i = 0; i < count; i++) {
    const next = source.next();
    if (next.done) throw new Error('live publisher: the generator ended');
    const m = next.value;
    prepared.subjects[i] = 'event' in m ? partitionSubject(input.subjectPrefix, m.event.user_id, input.partitions) : `${input.subjectPrefix}.${i % input.partitions}`;
    prepared.payloads[i] = m.payload;
    prepared.rows[i] = becomesEventRow(m) ? 1 : 0;
  }
  return prepared;
}

// Generating an event costs more CPU than publishing it (measured: ~17 us per event for both on
// this thread), and on a 2-core machine that CPU is taken from the pipeline being measured. So the
// events are generated first, with event times starting when publishing will: a short calibration
// run times the generator, including building its user population.
const calibrationCount = Math.min(input.count, 20_000);
const calibrationStarted = now();
prepare(Date.now(), calibrationCount);
const perMessageMs = (now() - calibrationStarted) / calibrationCount;
const lead = Math.ceil(perMessageMs * input.count * 1.2) + 1_000;
const { subjects, payloads, rows: isRow } = prepare(Math.floor(Date.now() + lead), input.count);

const started = now();
let rows = 0;
let published = 0;
while (published < input.count) {
  const due = Math.min(input.count, Math.floor(((now() - started) * input.rate) / 1000) + 1);
  for (; published < due; published++) {
    if (isRow[published] === 1) sentAt[rows++] = now();
    nc.publish(subjects[published]!, payloads[published]!);
  }
  await sleep(TICK_MS);
}
await nc.flush();
const seconds = (now() - started) / 1000;
await nc.close();
parentPort!.postMessage({ rows, published, seconds } satisfies LivePublisherOutput);
