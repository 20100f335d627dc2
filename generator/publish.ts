import type { JetStreamClient, PubAck } from '@nats-io/jetstream';
import { InvalidArgumentError } from '@nats-io/transport-node';
import type { EventPublisher } from '../core/event-publisher.ts';
import type { ClickEvent } from '../pipelines/clickstream-events.ts';
import type { GeneratedMessage } from './messages.ts';

export { partitionSubject } from './partition.ts';

export interface PublishOptions {
  /** Stop after taking this many messages from the source. @default unlimited (until the source ends or `signal` aborts) */
  count?: number;
  /**
   * Wall-clock pacing, messages per second. Pacing sleeps once per tick (>= 10 ms) and releases the
   * messages due by then, never a timer per message. @default undefined (as fast as acks allow)
   */
  ratePerSecond?: number;
  /** Outstanding PubAcks before publishing waits for one to settle: bounds memory and server load. @default 2_000 */
  maxInFlight?: number;
  /** Aborting stops taking messages; acks already in flight are awaited and the totals returned. */
  signal?: AbortSignal;
  /** Called with the number of acked messages, at most every 100 ms and once at the end. */
  onProgress?: (published: number) => void;
  /**
   * Publish events through the pipeline's contract (core/event-publisher.ts): each is checked against
   * the schema and stamped with its version; malformed messages go out as they are.
   * @default events published as their bytes, without headers
   */
  publisher?: Pick<EventPublisher<ClickEvent>, 'encode'>;
}

export interface PublishResult {
  /** Messages JetStream acknowledged, including those it flagged as duplicates. */
  published: number;
  /** Acks with `duplicate: true`: same msgId within the stream's duplicate_window, not stored. */
  duplicatesDropped: number;
  /**
   * Messages skipped because they exceed the server's max_payload (the `oversized` malformation,
   * unless the server allows payloads over 1 MiB). No NATS client can publish them, so they are
   * counted rather than failing the run.
   */
  oversized: number;
}

interface ResolvedPublishOptions {
  readonly count: number;
  readonly ratePerSecond: number | undefined;
  readonly maxInFlight: number;
  readonly signal: AbortSignal | undefined;
  readonly onProgress: ((published: number) => void) | undefined;
  readonly publisher: Pick<EventPublisher<ClickEvent>, 'encode'> | undefined;
}

const minSleepMs = 10;
const progressEveryMs = 100;

function parsePublishOptions(options: PublishOptions): ResolvedPublishOptions {
  const resolved: ResolvedPublishOptions = {
    count: options.count ?? Infinity,
    ratePerSecond: options.ratePerSecond,
    maxInFlight: options.maxInFlight ?? 2_000,
    signal: options.signal,
    onProgress: options.onProgress,
    publisher: options.publisher,
  };
  if (!(resolved.count === Infinity || (Number.isSafeInteger(resolved.count) && resolved.count >= 0))) {
    throw new Error(`count must be a non-negative integer, got ${resolved.count}`);
  }
  if (resolved.ratePerSecond !== undefined && !(resolved.ratePerSecond > 0 && Number.isFinite(resolved.ratePerSecond))) {
    throw new Error(`ratePerSecond must be a positive number, got ${resolved.ratePerSecond}`);
  }
  if (!(Number.isSafeInteger(resolved.maxInFlight) && resolved.maxInFlight >= 1)) {
    throw new Error(`maxInFlight must be a positive integer, got ${resolved.maxInFlight}`);
  }
  return resolved;
}

/**
 * Publishes generated messages to JetStream with `Nats-Msg-Id` = `msgId`, so the stream's dedup window
 * drops same-msgId re-sends (counted in `duplicatesDropped`). Publishing is pipelined: up to
 * `maxInFlight` PubAcks are outstanding at once. The first failed publish (other than an oversized
 * payload) stops the run; it rejects with that error once the acks in flight have settled.
 *
 * @example
 * ```ts
 * const { published, duplicatesDropped } = await publishMessages(
 *   jetstream(nc), m => ('event' in m ? partitionSubject('clickstream.events', m.event.user_id, 8) : 'clickstream.events.0'),
 *   generateClickstream({ startTime: Date.now(), eventsPerSecond: 500 }), { count: 10_000, ratePerSecond: 500 });
 * ```
 */
export async function publishMessages(
  js: JetStreamClient,
  subjectFor: (m: GeneratedMessage, i: number) => string,
  messages: Iterable<GeneratedMessage> | AsyncIterable<GeneratedMessage>,
  options: PublishOptions = {},
): Promise<PublishResult> {
  const o = parsePublishOptions(options);
  const result: PublishResult = { published: 0, duplicatesDropped: 0, oversized: 0 };
  let inFlight = 0;
  let failure: { error: unknown } | undefined;
  let slotFreed: (() => void) | undefined;
  let lastProgressAt = 0;

  const settled = (): void => {
    inFlight--;
    const wake = slotFreed;
    slotFreed = undefined;
    wake?.();
  };
  const onAck = (ack: PubAck): void => {
    result.published++;
    if (ack.duplicate) result.duplicatesDropped++;
    if (o.onProgress !== undefined) {
      const now = performance.now();
      if (now - lastProgressAt >= progressEveryMs) {
        lastProgressAt = now;
        o.onProgress(result.published);
      }
    }
    settled();
  };
  const onError = (error: unknown): void => {
    if (isMaxPayloadExceeded(error)) result.oversized++;
    else failure ??= { error };
    settled();
  };
  const slot = (): Promise<void> => new Promise((resolve) => (slotFreed = resolve));

  const iterator = Symbol.asyncIterator in messages ? messages[Symbol.asyncIterator]() : messages[Symbol.iterator]();
  const startedAt = performance.now();
  try {
    for (let taken = 0; taken < o.count && failure === undefined && !o.signal?.aborted; taken++) {
      if (o.ratePerSecond !== undefined) {
        const wait = startedAt + (taken * 1000) / o.ratePerSecond - performance.now();
        if (wait >= minSleepMs) {
          await sleep(wait, o.signal);
          if (o.signal?.aborted) break;
        }
      }
      const pending = iterator.next();
      const next = pending instanceof Promise ? await pending : pending;
      if (next.done === true) break;
      const message = next.value;
      while (inFlight >= o.maxInFlight) await slot();
      inFlight++;
      const subject = subjectFor(message, taken);
      // A producer a version ahead (`addedField`) publishes what its own schema says, unchecked here.
      if (o.publisher !== undefined && message.kind !== 'malformed' && !(message.kind === 'valid' && message.addedField !== undefined)) {
        // The same bytes as the generator's (JSON.stringify of the event), checked and stamped with their version.
        const { payload, headers } = o.publisher.encode(message.event, { msgID: message.msgId, id: message.event.event_id });
        js.publish(subject, payload, { msgID: message.msgId, headers }).then(onAck, onError);
      } else js.publish(subject, message.payload, { msgID: message.msgId }).then(onAck, onError);
    }
  } finally {
    // Ends an infinite generator cleanly (runs its finally blocks); a no-op for exhausted sources.
    const closing = iterator.return?.();
    if (closing instanceof Promise) await closing;
    while (inFlight > 0) await slot();
  }
  o.onProgress?.(result.published);
  if (failure !== undefined) throw failure.error;
  return result;
}

function isMaxPayloadExceeded(error: unknown): boolean {
  return error instanceof InvalidArgumentError && error.message.includes('max_payload');
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
