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
  /** Why the last failed publish failed, if one did (a test's failure message names it). */
  readonly lastError: unknown;
  /** Stop after the publish in flight; resolves with how many were published. */
  stop(): Promise<number>;
  /** Resolves with how many were published once every message is, or `stop` was called. */
  readonly done: Promise<number>;
}

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
  partitions = CLICKSTREAM_PARTITIONS,
): OrderedPublishing {
  const js: JetStreamClient = jetstream(nc, { timeout: 2_000 });
  let published = 0;
  let retries = 0;
  let lastError: unknown;
  let stopped = false;
  const done = (async (): Promise<number> => {
    for (const message of messages) {
      if (stopped) break;
      const subject = `${subjectPrefix}.${inputPartition(message, offset + published, partitions)}`;
      for (;;) {
        try {
          await js.publish(subject, message.payload, { msgID: message.msgId });
          break;
        } catch (error) {
          retries++;
          lastError = error;
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
    stop: () => {
      stopped = true;
      return done;
    },
    done,
  };
}
