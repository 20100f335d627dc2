import { generateClickstream } from '../generator/clickstream.ts';
import type { GeneratedMessage } from '../generator/messages.ts';
import type { GeneratorOptions } from '../generator/options.ts';

/**
 * The benchmark's traffic: the demo's mix of duplicates, out-of-order, late and malformed messages
 * (`rxa demo` knobs), with a user population large enough for the event-time rate (the generator
 * needs about 600 users per event/s to keep visits apart by the 30-minute session gap).
 */
export const workloadKnobs = {
  duplicateRate: 0.01,
  outOfOrderRate: 0.02,
  lateRate: 0.002,
  malformedRate: 0.005,
} as const satisfies Partial<GeneratorOptions>;

/** Event-time rate of pre-published (bulk) events: a shop with 1,000 events/s, replayed as fast as it goes. */
export const BULK_EVENTS_PER_SECOND = 1_000;
export const BULK_USERS = 600 * BULK_EVENTS_PER_SECOND;

/**
 * Generated messages, minus re-sends that keep their `Nats-Msg-Id`: JetStream's duplicate window
 * would drop those at publish, so skipping them here makes the stream hold exactly the requested
 * count. Re-sends with a fresh msgId stay in: the pipeline's dedupe must drop them.
 */
export function* workload(options: GeneratorOptions): Generator<GeneratedMessage, void, undefined> {
  for (const message of generateClickstream(options)) {
    if (message.kind === 'duplicate' && message.sameMsgId) continue;
    yield message;
  }
}

/** Whether a message becomes a `clickstream_events` row (the others are dropped or dead-lettered). */
export function becomesEventRow(message: GeneratedMessage): boolean {
  return message.kind === 'valid' || message.kind === 'late';
}

/**
 * The pre-published (bulk) traffic: `count` messages at 1,000 events/s of event time ending about
 * now, so the skew check and the windows see recent history, as after an outage.
 */
export function bulkWorkload(count: number, seed: number): Generator<GeneratedMessage, void, undefined> {
  return workload({
    seed,
    startTime: Math.floor(Date.now() - (count * 1000) / BULK_EVENTS_PER_SECOND),
    eventsPerSecond: BULK_EVENTS_PER_SECOND,
    users: BULK_USERS,
    ...workloadKnobs,
  });
}
