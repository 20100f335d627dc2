import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { fnv1a32 } from '../../common/fnv1a.ts';
import { generateClickstream } from '../../generator/clickstream.ts';
import type { GeneratedMessage } from '../../generator/messages.ts';
import type { GeneratorOptions } from '../../generator/options.ts';
import { publishMessages } from '../../generator/publish.ts';
import { CLICKSTREAM_PARTITIONS } from '../../pipelines/clickstream.ts';
import { ClickEvent } from '../../pipelines/clickstream-events.ts';

export interface InputOptions extends Partial<GeneratorOptions> {
  count: number;
  /**
   * Append an event an hour after the last one on every partition (watermarks are per partition),
   * so every window and session closes.
   */
  trailing?: boolean;
  /** The partitions the input is published to, for `trailing`. @default CLICKSTREAM_PARTITIONS */
  partitions?: number;
}

/**
 * A seeded clickstream for tests, in the past (the pipeline's clock-skew check allows 7 days),
 * with duplicates, out-of-order, late and malformed messages unless overridden.
 */
export function clickstreamInput({ count, trailing = false, partitions = CLICKSTREAM_PARTITIONS, ...overrides }: InputOptions): GeneratedMessage[] {
  const eventsPerSecond = overrides.eventsPerSecond ?? 50;
  const messages: GeneratedMessage[] = [];
  for (const m of generateClickstream({
    seed: 1,
    startTime: Date.now() - 3 * 3_600_000 - (count * 1000) / eventsPerSecond,
    users: 150 * eventsPerSecond,
    duplicateRate: 0.02,
    outOfOrderRate: 0.05,
    lateRate: 0.005,
    malformedRate: 0.01,
    ...overrides,
    eventsPerSecond,
  })) {
    messages.push(m);
    if (messages.length === count) break;
  }
  if (trailing) messages.push(...trailingEvents(messages, partitions));
  return messages;
}

function trailingEvents(messages: readonly GeneratedMessage[], partitions: number): GeneratedMessage[] {
  const lastTs = messages.reduce((max, m) => ('event' in m ? Math.max(max, m.event.ts) : max), 0);
  // One user per partition: the first `trailing-user-<k>` that hashes there.
  const users = new Map<number, string>();
  for (let k = 0; users.size < partitions; k++) {
    const user = `trailing-user-${k}`;
    const p = fnv1a32(user) % partitions;
    if (!users.has(p)) users.set(p, user);
  }
  return [...users].sort(([a], [b]) => a - b).map(([p, user]) => trailingEvent(lastTs, user, p));
}

function trailingEvent(lastTs: number, user: string, partition: number): GeneratedMessage {
  const event = ClickEvent.parse({
    event_id: `trailing-${lastTs}-${partition}`,
    type: 'page_view',
    ts: lastTs + 3_600_000,
    user_id: user,
    url: 'https://shop.example.com/',
    referrer: null,
    user_agent: 'test',
    country: 'DE',
  });
  return { kind: 'valid', event, payload: new TextEncoder().encode(JSON.stringify(event)), msgId: event.event_id };
}

/**
 * Publish to `<prefix>.<partition>` (by user; messages without a user round-robin), creating the
 * stream if needed. Returns the stream's last sequence afterwards, and the publisher's figures.
 */
export async function publishInput(
  nc: NatsConnection,
  stream: string,
  subjectPrefix: string,
  messages: readonly GeneratedMessage[],
  partitions = CLICKSTREAM_PARTITIONS,
): Promise<{ lastSeq: number; messages: number; published: number; duplicatesDropped: number }> {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.info(stream).catch(() => jsm.streams.add({ name: stream, subjects: [`${subjectPrefix}.>`] }));
  const result = await publishMessages(jetstream(nc), (m, i) => `${subjectPrefix}.${inputPartition(m, i, partitions)}`, messages, { maxInFlight: 5_000 });
  const { state } = await jsm.streams.info(stream);
  return { lastSeq: state.last_seq, messages: state.messages, published: result.published, duplicatesDropped: result.duplicatesDropped };
}

/** The partition `publishInput` puts the `index`-th message on: its user's, or round-robin without one. */
export function inputPartition(message: GeneratedMessage, index: number, partitions: number): number {
  return 'event' in message ? fnv1a32(message.event.user_id) % partitions : index % partitions;
}
