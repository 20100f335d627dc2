import { z } from 'zod';

/**
 * Names that end up inside SQL or NATS subjects come from config, so they are validated here and
 * never pasted raw. ClickHouse identifiers: a conservative subset that needs no quoting on any version.
 */
export const sqlIdentifier = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'must be a SQL identifier: letters, digits and _, not starting with a digit, at most 63 characters');

/** JetStream stream, consumer and bucket names: no whitespace, dots, wildcards or path separators. */
export const natsName = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be a NATS name: letters, digits, _ and -, at most 64 characters');

/** A NATS subject or subject filter (`orders.>`, `clicks.*.eu`). */
export const natsSubject = z
  .string()
  .regex(/^([A-Za-z0-9_-]+|\*)(\.([A-Za-z0-9_-]+|\*))*(\.>)?$|^>$/, 'must be a NATS subject: dot-separated tokens, * and a trailing > allowed');

/** Quote a validated identifier for SQL (backticks work on ClickHouse 18.16 and current). */
export function quoteIdent(name: string): string {
  sqlIdentifier.parse(name);
  return `\`${name}\``;
}
