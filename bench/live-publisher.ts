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
// Event time starts a little ahead; latency is measured from the recorded send times, not from it.
const source = workload({ seed: 13, startTime: Math.floor(Date.now() + 1_000), eventsPerSecond: input.rate, users: input.users, ...workloadKnobs });
source.next(); // builds the population before the clock starts (the first message is not sent)
const started = now();
let rows = 0;
let published = 0;
while (published < input.count) {
  const due = Math.min(input.count, Math.floor(((now() - started) * input.rate) / 1000) + 1);
  for (; published < due; published++) {
    const next = source.next();
    if (next.done) throw new Error('live publisher: the generator ended');
    const m = next.value;
    const subject = 'event' in m ? partitionSubject(input.subjectPrefix, m.event.user_id, input.partitions) : `${input.subjectPrefix}.${published % input.partitions}`;
    if (becomesEventRow(m)) sentAt[rows++] = now();
    nc.publish(subject, m.payload);
  }
  await sleep(TICK_MS);
}
await nc.flush();
const seconds = (now() - started) / 1000;
await nc.close();
parentPort!.postMessage({ rows, published, seconds } satisfies LivePublisherOutput);
