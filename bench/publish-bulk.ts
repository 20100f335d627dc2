import type { JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { partitionSubject } from '../generator/publish.ts';
import { ensureStream } from '../sources/streams.ts';
import type { PhaseNames } from './names.ts';
import { producerHeaders } from './producer-headers.ts';
import { bulkWorkload } from './workload.ts';

export interface PublishedStream {
  /** Messages stored in the stream (= the requested count). */
  readonly messages: number;
  readonly lastSeq: number;
  readonly seconds: number;
}

/** Partitions of the subject space, as `rxa gen` publishes them. */
export const PARTITIONS = 4;

/** Core publishes between two flushes: the flush round trip is the publisher's backpressure. */
const FLUSH_EVERY = 4_096;
/** How long the server may take to store what was sent before the stream is checked. */
const STORE_TIMEOUT_MS = 60_000;

/**
 * Pre-publish `count` generated events into a fresh stream (not timed as part of any phase).
 * Event times end at "now", so the skew check and the windows see recent history, as after an outage.
 *
 * Core NATS publishes, not JetStream ones: a JetStream publish is a request with its own timer and
 * reply subscription, ~20k/s from one Node process, which would make a 10M-event run spend most of
 * its time publishing. The stream captures the subjects either way; the message count is checked at
 * the end (no msgId headers are needed: re-sends that JetStream would drop are skipped, see workload).
 */
export async function publishBulk(
  nc: NatsConnection,
  jsm: JetStreamManager,
  names: PhaseNames,
  count: number,
  onProgress: (published: number) => void,
  /** Give every message a `traceparent`, this ratio of them sampled (bench/producer-headers.ts). */
  traceSample?: number,
): Promise<PublishedStream> {
  await ensureStream(jsm, { name: names.stream, subjects: [`${names.subjectPrefix}.>`] });
  const started = performance.now();
  const messages = bulkWorkload(count, 7);
  let sent = 0;
  for (const m of messages) {
    const subject = 'event' in m ? partitionSubject(names.subjectPrefix, m.event.user_id, PARTITIONS) : `${names.subjectPrefix}.${sent % PARTITIONS}`;
    nc.publish(subject, m.payload, traceSample === undefined ? undefined : { headers: producerHeaders(traceSample) });
    if (++sent % FLUSH_EVERY === 0) {
      await nc.flush();
      onProgress(sent);
    }
    if (sent === count) break;
  }
  await nc.flush();
  onProgress(sent);
  const deadline = Date.now() + STORE_TIMEOUT_MS;
  let info = await jsm.streams.info(names.stream);
  while (info.state.messages < count && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    info = await jsm.streams.info(names.stream);
  }
  if (info.state.messages !== count) {
    throw new Error(`stream ${names.stream} holds ${info.state.messages} messages, expected ${count}`);
  }
  return { messages: info.state.messages, lastSeq: info.state.last_seq, seconds: (performance.now() - started) / 1000 };
}
