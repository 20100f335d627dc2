import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import { ensureStream } from '../sources/streams.ts';

/** A message that could not be processed, with why and where. */
export interface DeadLetter {
  readonly pipeline: string;
  readonly stage: string;
  readonly reason: string;
  readonly payload: Uint8Array | string;
  /** Where it came from; `seq` 0 for rows rejected by the sink (they are derived from many messages). */
  readonly source: { readonly stream: string; readonly subject: string; readonly seq: number };
  /** Stable id: the same dead letter published twice (after a crash) is stored once. */
  readonly id: string;
  /** When the original message was published (epoch ms): deterministic, unlike "now". */
  readonly receivedAt: number;
  /** The trace id of the original message's producer span (its `traceparent`), '' or absent without one. */
  readonly traceId?: string;
  /** The original message's correlation id (`ce-correlationid`), '' or absent without one. */
  readonly correlationId?: string;
}

export const DEAD_LETTER_STREAM = 'RXA_DLQ';
export const DEAD_LETTER_SUBJECT_PREFIX = 'rxa.dlq';

/**
 * Publishes dead letters to a JetStream stream (`rxa.dlq.<pipeline>.<stage>`), original payload as
 * the body, reason and origin in headers (`Rxa-Reason`, `Rxa-Stage`, `Rxa-Source-Stream`,
 * `Rxa-Source-Subject`, `Rxa-Source-Seq`, and when the message had them `Rxa-Trace-Id` and
 * `Rxa-Correlation-Id`). `Nats-Msg-Id` makes a re-publish after a crash a no-op (within the
 * stream's 1 hour duplicate window).
 */
export class DeadLetterPublisher {
  constructor(private readonly js: JetStreamClient) {}

  /** Create the stream if missing, with `replicas` copies on a cluster. */
  static async ensureStream(jsm: JetStreamManager, replicas = 1): Promise<void> {
    await ensureStream(jsm, { name: DEAD_LETTER_STREAM, subjects: [`${DEAD_LETTER_SUBJECT_PREFIX}.>`], duplicateWindowMs: 3_600_000, replicas });
  }

  /** Publish all, concurrently; resolves when JetStream has stored every one. */
  async publish(letters: readonly DeadLetter[]): Promise<void> {
    await Promise.all(letters.map((letter) => this.publishOne(letter)));
  }

  private async publishOne(letter: DeadLetter): Promise<void> {
    const h = headers();
    h.set('Rxa-Pipeline', letter.pipeline);
    h.set('Rxa-Stage', letter.stage);
    h.set('Rxa-Reason', headerValue(letter.reason));
    h.set('Rxa-Source-Stream', letter.source.stream);
    h.set('Rxa-Source-Subject', letter.source.subject);
    h.set('Rxa-Source-Seq', String(letter.source.seq));
    if (letter.traceId) h.set('Rxa-Trace-Id', letter.traceId);
    if (letter.correlationId) h.set('Rxa-Correlation-Id', headerValue(letter.correlationId));
    const subject = `${DEAD_LETTER_SUBJECT_PREFIX}.${subjectToken(letter.pipeline)}.${subjectToken(letter.stage)}`;
    await this.js.publish(subject, letter.payload, { msgID: letter.id, headers: h });
  }
}

/** Header values cannot contain CR/LF; long reasons are cut (the payload is kept whole). */
function headerValue(value: string): string {
  const flat = value.replace(/[\r\n]+/g, ' ');
  return flat.length > 2_000 ? `${flat.slice(0, 2_000)}…` : flat;
}

function subjectToken(value: string): string {
  return value.replace(/[^A-Za-z0-9_-]/g, '_') || '_';
}
