import type { ClickEvent } from '../pipelines/clickstream-events.ts';

/** The ways a generated message is broken. Each must end in the pipeline's dead-letter output. */
export const malformations = [
  /** Not JSON at all: truncated, trailing comma, single quotes, NaN, two objects. */
  'invalid-json',
  /** JSON that fails the schema: unknown `type`, empty url, bad country, negative price, empty id. */
  'schema',
  /** A field of the wrong JSON type, e.g. `ts` as a string. */
  'wrong-type',
  /** A required field absent. */
  'missing-field',
  /** Bytes that are not valid UTF-8 inside an otherwise valid event. */
  'non-utf8',
  /** Valid JSON of 48 KiB (a huge `element`): over the pipeline's size limit, under NATS's max_payload. */
  'oversized',
  /** Schema-valid, but `ts` is 2 days ahead of the clock: must be rejected for clock skew. */
  'future-timestamp',
  /** Schema-valid, but `ts` is 30 days behind the clock: must be rejected for clock skew. */
  'past-timestamp',
] as const;

export type Malformation = (typeof malformations)[number];

/**
 * One message for `clickstream.events.*`. `payload` is exactly what is published; `msgId` goes into
 * the `Nats-Msg-Id` header for JetStream's dedup window. Every msgId is unique except for
 * `duplicate` messages with `sameMsgId: true`.
 */
export type GeneratedMessage =
  | {
      readonly kind: 'valid';
      readonly event: ClickEvent;
      readonly payload: Uint8Array;
      readonly msgId: string;
      /** Set when `ts` was moved back by up to `maxOutOfOrderMs` (the out-of-order knob). */
      readonly outOfOrder?: true;
      /** Set on valid events whose strings carry unicode edge cases (emoji, ZWJ, combining marks, RTL). */
      readonly unicodeEdge?: true;
      /**
       * Set on valid events from a producer a version ahead: the payload is the event plus this field,
       * which the schema does not declare (the pipeline drops and counts it).
       */
      readonly addedField?: string;
    }
  | {
      readonly kind: 'duplicate';
      /** The original event; `payload` is the original's very bytes (shared, do not mutate). */
      readonly event: ClickEvent;
      readonly payload: Uint8Array;
      /** The original's msgId (JetStream drops it) or `original + '~retry'` (the pipeline must). */
      readonly msgId: string;
      readonly sameMsgId: boolean;
    }
  | { readonly kind: 'late'; readonly event: ClickEvent; readonly payload: Uint8Array; readonly msgId: string }
  | { readonly kind: 'malformed'; readonly malformation: Malformation; readonly payload: Uint8Array; readonly msgId: string };
