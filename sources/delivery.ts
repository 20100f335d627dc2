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

/** Fill `out` from `reply` (ASCII bytes or text); false when it is not a JetStream delivery subject. */
export function readDelivery(subject: Uint8Array | string, out: Delivery): boolean {
  const reply = typeof subject === 'string' ? Buffer.from(subject, 'latin1') : subject;
  if (reply.length < PREFIX.length) return false;
  for (let i = 0; i < PREFIX.length; i++) if (reply[i] !== PREFIX[i]) return false;
  let dots = 0;
  for (let i = 0; i < reply.length; i++) if (reply[i] === 46) dots++;
  // Index of the stream sequence token; delivery sequence and timestamp follow it.
  let first: number;
  if (dots === 8) first = 5;
  else if (dots === 10 || dots === 11) first = 7;
  else return false;
  let token = 0;
  let start = 0;
  for (let i = 0; i <= reply.length; i++) {
    if (i < reply.length && reply[i] !== 46) continue;
    if (token === first) out.streamSeq = digits(reply, start, i);
    else if (token === first + 1) out.deliverySeq = digits(reply, start, i);
    else if (token === first + 2) {
      // Nanoseconds exceed 2^53: drop the last six digits instead of dividing a rounded number.
      if (digits(reply, Math.max(start, i - 6), i) < 0) return false;
      out.publishedMs = i - start > 6 ? digits(reply, start, i - 6) : 0;
    } else if (token === first + 3) {
      out.pending = digits(reply, start, i);
      return out.streamSeq >= 0 && out.deliverySeq >= 0 && out.publishedMs >= 0 && out.pending >= 0;
    }
    token++;
    start = i + 1;
  }
  return false;
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
