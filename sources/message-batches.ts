import type { JsMsg } from '@nats-io/jetstream';

/**
 * A source that hands its messages over in batches (BatchedPull): the feed reads a batch in one go,
 * where an async iterator of messages costs a promise and a microtask round per message (~7% of the
 * pipeline's allocations went to the two iterators between the pull and the feed).
 */
export interface MessageBatches {
  batches(): AsyncIterable<readonly JsMsg[]>;
  /** Set once the source is stopped: the feed reads no further message of the batch at hand. */
  readonly stopped: boolean;
}

export function isMessageBatches(messages: AsyncIterable<JsMsg> | MessageBatches): messages is MessageBatches {
  return typeof (messages as Partial<MessageBatches>).batches === 'function';
}

/** Any async iterable of messages as batches of one (a standing `consume()`, tests). */
export function oneByOne(messages: AsyncIterable<JsMsg>): MessageBatches {
  return {
    stopped: false,
    async *batches() {
      for await (const msg of messages) yield [msg];
    },
  };
}
