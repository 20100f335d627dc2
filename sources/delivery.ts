/**
 * What the feed needs from a JetStream delivery, read off its reply subject without allocating.
 *
 * nats.js's `msg.info` splits the reply subject into tokens and builds an object per message (3%
 * of the pipeline's CPU, and garbage); this scans it once into a reused record, from the bytes the
 * client received when it can reach them (`msg.reply` decodes them into a string per message).
 *
 * Reply subjects: `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<dseq>.<ts>.<pending>` (9 tokens)
 * or, from servers with domains, `$JS.ACK.<domain>.<account>.<stream>.<consumer>.<delivered>.<sseq>
 * .<dseq>.<ts>.<pending>[.<random>]` (11 or 12). Stream and consumer names cannot contain dots.
 */
export interface Delivery {
  /** Stream sequence. */
  streamSeq: number;
  /** Consumer delivery sequence. */
  deliverySeq: number;
  /** Publish time, epoch ms. */
  publishedMs: number;
  /** Messages left for the consumer after this one (its backlog when it was delivered). */
  pending: number;
}

const PREFIX = [36, 74, 83, 46, 65, 67, 75, 46]; // '$JS.ACK.'
const DOT = 46;
/** Where the dots of the subject at hand are (12 tokens at most: 11 dots). Reused: no allocation per message. */
const dotsAt = new Int32Array(11);

/** Fill `out` from `reply` (ASCII bytes or text); false when it is not a JetStream delivery subject. */
export function readDelivery(subject: Uint8Array | string, out: Delivery): boolean {
  const reply = typeof subject === 'string' ? Buffer.from(subject, 'latin1') : subject;
  const n = reply.length;
  if (n < PREFIX.length) return false;
  for (let i = 0; i < PREFIX.length; i++) if (reply[i] !== PREFIX[i]) return false;
  // One pass over the bytes for the dots; the tokens are then read where they are.
  let dots = 0;
  for (let i = 0; i < n; i++) {
    if (reply[i] !== DOT) continue;
    if (dots === dotsAt.length) return false;
    dotsAt[dots++] = i;
  }
  // Index of the stream sequence token; delivery sequence, timestamp and pending follow it.
  let first: number;
  if (dots === 8) first = 5;
  else if (dots === 10 || dots === 11) first = 7;
  else return false;
  // Token t runs from the dot before it to the dot after it (or the end: the 9- and 11-token forms end with pending).
  out.streamSeq = digits(reply, dotsAt[first - 1]! + 1, dotsAt[first]!);
  out.deliverySeq = digits(reply, dotsAt[first]! + 1, dotsAt[first + 1]!);
  const start = dotsAt[first + 1]! + 1;
  const end = dotsAt[first + 2]!;
  // Nanoseconds exceed 2^53: drop the last six digits instead of dividing a rounded number.
  if (digits(reply, Math.max(start, end - 6), end) < 0) return false;
  out.publishedMs = end - start > 6 ? digits(reply, start, end - 6) : 0;
  out.pending = digits(reply, end + 1, first + 3 < dots ? dotsAt[first + 3]! : n);
  return out.streamSeq >= 0 && out.deliverySeq >= 0 && out.publishedMs >= 0 && out.pending >= 0;
}

/** The decimal number in `text[start, end)`, or -1 if it is not one. */
function digits(text: Uint8Array, start: number, end: number): number {
  if (end <= start) return -1;
  let n = 0;
  for (let i = start; i < end; i++) {
    const d = text[i]! - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}
