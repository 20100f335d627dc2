import { AckPolicy, DeliverPolicy, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';

/** A point in the stream: a stream sequence, or a time (epoch ms) compared with publish times. */
export type StreamPoint = { readonly seq: number } | { readonly time: number };

export function isTime(point: StreamPoint): point is { readonly time: number } {
  return 'time' in point;
}

/** For an inclusive `to` time, the first message strictly after it marks the end. */
export function after(point: StreamPoint): StreamPoint {
  return isTime(point) ? { time: point.time + 1 } : point;
}

/** The first stream sequence at or after `point`; `past` when there is none. */
export async function resolvePoint(js: JetStreamClient, stream: string, point: StreamPoint, first: number, past: number): Promise<number> {
  if (!isTime(point)) return Math.max(point.seq, first);
  const probe = await js.consumers.get(stream, { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(point.time).toISOString() });
  const msg = await probe.next({ expires: 2_000 });
  await probe.delete().catch(() => {});
  return msg ? msg.seq : past;
}

/** How many messages on `subject` a consumer starting at `startSeq` would deliver (a probe consumer, deleted after). */
export async function pendingFrom(jsm: JetStreamManager, stream: string, subject: string, startSeq: number): Promise<number> {
  const probe = await jsm.consumers.add(stream, {
    ack_policy: AckPolicy.None,
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: startSeq,
    filter_subject: subject,
    inactive_threshold: nanos(60_000),
  });
  await jsm.consumers.delete(stream, probe.name).catch(() => {});
  return probe.num_pending;
}
