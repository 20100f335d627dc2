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
  readonly servers: readonly string[];
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

const nc = await connect({ servers: [...input.servers], name: 'rxa:bench-live' });

/** Messages due before the clock starts, so the timed loop only publishes bytes. */
interface Prepared {
  readonly subjects: string[];
  readonly payloads: Uint8Array[];
  /** Whether message i becomes a `clickstream_events` row. */
  readonly rows: Uint8Array;
}

const generator = (startTime: number): ReturnType<typeof workload> =>
  workload({ seed: 13, startTime, eventsPerSecond: input.rate, users: input.users, ...workloadKnobs });

function prepare(source: ReturnType<typeof workload>, count: number): Prepared {
  const prepared: Prepared = { subjects: new Array<string>(count), payloads: new Array<Uint8Array>(count), rows: new Uint8Array(count) };
  for (let i = 0; i < count; i++) {
    const next = source.next();
    if (next.done) throw new Error('live publisher: the generator ended');
    const m = next.value;
    prepared.subjects[i] =
      'event' in m ? partitionSubject(input.subjectPrefix, m.event.user_id, input.partitions) : `${input.subjectPrefix}.${i % input.partitions}`;
    prepared.payloads[i] = m.payload;
    prepared.rows[i] = becomesEventRow(m) ? 1 : 0;
  }
  return prepared;
}

// Generating events costs more CPU than publishing them (measured on this thread: ~18 us per
// event in all, ~6 of them publishing), and on a 2-core machine that CPU is taken from the pipeline
// being measured. So the events are generated first, with event times starting about when
// publishing will: a calibration run times the generator's setup (its user population) and, once
// warm, its messages; the real run's event times start that far ahead.
const calibration = generator(Date.now());
const setupStarted = now();
prepare(calibration, 1);
const setupMs = now() - setupStarted;
prepare(calibration, Math.min(input.count, 10_000)); // compiled code, as in the real run
const calibrationCount = Math.min(input.count, 20_000);
const calibrationStarted = now();
prepare(calibration, calibrationCount);
const perMessageMs = (now() - calibrationStarted) / calibrationCount;
const lead = Math.ceil(setupMs + perMessageMs * input.count) + 500;
const eventTimeStart = Math.floor(Date.now() + lead);
const { subjects, payloads, rows: isRow } = prepare(generator(eventTimeStart), input.count);
/** How far event time runs ahead of the send time (behind, if negative). */
const aheadMs = eventTimeStart - Date.now();

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
if (Math.abs(aheadMs) > 5_000 || process.env.RXA_BENCH_DEBUG)
  console.warn(`live publisher: event times start ${Math.round(aheadMs)} ms from the first publish`);
await nc.close();
parentPort!.postMessage({ rows, published, seconds } satisfies LivePublisherOutput);
