import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { generateClickstream } from '../../generator/clickstream.ts';
import type { GeneratedMessage } from '../../generator/messages.ts';
import type { GeneratorOptions } from '../../generator/options.ts';
import { partitionSubject, publishMessages } from '../../generator/publish.ts';
import { ClickEvent } from '../../pipelines/clickstream-events.ts';

export interface InputOptions extends Partial<GeneratorOptions> {
  count: number;
  /** Append one event an hour after the last, so the watermark closes every window and session. */
  trailing?: boolean;
}

/**
 * A seeded clickstream for tests, in the past (the pipeline's clock-skew check allows 7 days),
 * with duplicates, out-of-order, late and malformed messages unless overridden.
 */
export function clickstreamInput({ count, trailing = false, ...overrides }: InputOptions): GeneratedMessage[] {
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
  if (trailing) messages.push(trailingEvent(messages));
  return messages;
}

function trailingEvent(messages: readonly GeneratedMessage[]): GeneratedMessage {
  const lastTs = messages.reduce((max, m) => ('event' in m ? Math.max(max, m.event.ts) : max), 0);
  const event = ClickEvent.parse({
    event_id: `trailing-${lastTs}`,
    type: 'page_view',
    ts: lastTs + 3_600_000,
    user_id: 'trailing-user',
    url: 'https://shop.example.com/',
    referrer: null,
    user_agent: 'test',
    country: 'DE',
  });
  return { kind: 'valid', event, payload: new TextEncoder().encode(JSON.stringify(event)), msgId: event.event_id };
}

/**
 * Publish to `<prefix>.<partition>` (by user, 4 partitions), creating the stream if needed.
 * Returns the stream's last sequence afterwards, and the publisher's figures.
 */
export async function publishInput(
  nc: NatsConnection,
  stream: string,
  subjectPrefix: string,
  messages: readonly GeneratedMessage[],
): Promise<{ lastSeq: number; messages: number; published: number; duplicatesDropped: number }> {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.info(stream).catch(() => jsm.streams.add({ name: stream, subjects: [`${subjectPrefix}.>`] }));
  const result = await publishMessages(
    jetstream(nc),
    (m, i) => ('event' in m ? partitionSubject(subjectPrefix, m.event.user_id, 4) : `${subjectPrefix}.${i % 4}`),
    messages,
    { maxInFlight: 5_000 },
  );
  const { state } = await jsm.streams.info(stream);
  return { lastSeq: state.last_seq, messages: state.messages, published: result.published, duplicatesDropped: result.duplicatesDropped };
}
