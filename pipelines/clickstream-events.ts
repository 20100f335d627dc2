import { z } from 'zod';

/**
 * The clickstream event, as published on `clickstream.events.<partition>`.
 * This schema is the single source of truth: the generator, the pipeline and the tests all use it.
 * `ts` is the event time (when it happened on the client), epoch milliseconds.
 */
const base = {
  event_id: z.string().min(1).max(64),
  ts: z.number().int().positive(),
  user_id: z.string().min(1).max(64),
  url: z.string().min(1).max(2048),
  referrer: z.string().max(2048).nullable(),
  user_agent: z.string().max(512),
  country: z.string().length(2),
};

const commerce = {
  product_id: z.string().min(1).max(64),
  price: z.number().nonnegative().finite(),
  quantity: z.number().int().positive().max(1000),
};

export const ClickEvent = z.discriminatedUnion('type', [
  z.object({ ...base, type: z.literal('page_view') }).strict(),
  z.object({ ...base, type: z.literal('click'), element: z.string().max(256) }).strict(),
  z.object({ ...base, type: z.literal('add_to_cart'), ...commerce }).strict(),
  z.object({ ...base, type: z.literal('purchase'), ...commerce, order_id: z.string().min(1).max(64) }).strict(),
]);

export type ClickEvent = z.infer<typeof ClickEvent>;
export type ClickEventType = ClickEvent['type'];
export const clickEventTypes = ['page_view', 'click', 'add_to_cart', 'purchase'] as const satisfies readonly ClickEventType[];
