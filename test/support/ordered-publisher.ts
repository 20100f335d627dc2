import { type JetStreamClient, jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { GeneratedMessage } from '../../generator/messages.ts';
import { CLICKSTREAM_PARTITIONS } from '../../pipelines/clickstream.ts';
import { inputPartition } from './clickstream-input.ts';

export interface OrderedPublishing {
  /** Messages JetStream has acked so far (the first `published` of the input). */
  readonly published: number;
  /** Publishes that failed and were sent again (a server down, an election). */
  readonly retries: number;
  /** Times the connection was moved to another server (see `NO_RESPONDERS_BEFORE_RECONNECT`). */
  readonly reconnects: number;
  /** Why the last failed publish failed, if one did (a test's failure message names it). */
  readonly lastError: unknown;
  /** Stop after the publish in flight; resolves with how many were published. */
  stop(): Promise<number>;
  /** Resolves with how many were published once every message is, or `stop` was called. */
  readonly done: Promise<number>;
}

/** Publishes in a row that found no responders (0.1 s apart) before the connection moves to another server. */
const NO_RESPONDERS_BEFORE_RECONNECT = 30;

/**
 * Publish `messages` one at a time, in order, each sent again until JetStream acks it, to
 * `<subjectPrefix>.<partition>` as `publishInput` does: a publisher that rides through a server
 * loss or a leader election without reordering the stream. A publish whose ack was lost may have
 * been stored: its retry carries the same `Nats-Msg-Id`, which the stream drops as a duplicate
 * (within its duplicate window). Pipelined publishing would be faster, but a failure in the middle
 * of a window would store the messages after it before the one retried.
 */
export function publishInOrder(
  nc: NatsConnection,
  subjectPrefix: string,
  messages: readonly GeneratedMessage[],
  /** The index of `messages[0]` in the whole input, for the partition of messages without a user (round-robin by index). */
  offset = 0,
  /** At most this many per second on average (a test whose faults need messages still coming); unlimited by default. */
  perSecond = Number.POSITIVE_INFINITY,
  partitions = CLICKSTREAM_PARTITIONS,
): OrderedPublishing {
  const js: JetStreamClient = jetstream(nc, { timeout: 2_000 });
  let published = 0;
  let retries = 0;
  let lastError: unknown;
  let noResponders = 0;
  let reconnects = 0;
  let stopped = false;
  const started = performance.now();
  const done = (async (): Promise<number> => {
    for (const message of messages) {
      if (stopped) break;
      const due = started + (1000 * published) / perSecond;
      if (due > performance.now()) await new Promise((resolve) => setTimeout(resolve, due - performance.now()));
      const subject = `${subjectPrefix}.${inputPartition(message, offset + published, partitions)}`;
      for (;;) {
        try {
          await js.publish(subject, message.payload, { msgID: message.msgId });
          break;
        } catch (error) {
          retries++;
          lastError = error;
          // No responders for the stream's subject, over and over: the server this connection is on
          // does not route it to the stream (seen for over a minute on nats-server 2.9 after a
          // restart, the stream led and current elsewhere). Move to another server.
          noResponders = error instanceof Error && error.name === 'JetStreamNotEnabled' ? noResponders + 1 : 0;
          if (noResponders === NO_RESPONDERS_BEFORE_RECONNECT) {
            noResponders = 0;
            reconnects++;
            await nc.reconnect().catch(() => {});
          }
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
      published++;
    }
    return published;
  })();
  return {
    get published() {
      return published;
    },
    get retries() {
      return retries;
    },
    get lastError() {
      return lastError;
    },
    get reconnects() {
      return reconnects;
    },
    stop: () => {
      stopped = true;
      return done;
    },
    done,
  };
}
