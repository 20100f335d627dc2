import { z } from 'zod';

/** JetStream stream, consumer and bucket names come from config: no whitespace, dots, wildcards or path separators. */
export const natsName = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be a NATS name: letters, digits, _ and -, at most 64 characters');

/** A NATS subject or subject filter (`orders.>`, `clicks.*.eu`). */
export const natsSubject = z
  .string()
  .regex(/^([A-Za-z0-9_-]+|\*)(\.([A-Za-z0-9_-]+|\*))*(\.>)?$|^>$/, 'must be a NATS subject: dot-separated tokens, * and a trailing > allowed');
