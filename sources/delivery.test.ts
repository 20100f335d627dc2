import { describe, expect, it } from 'vitest';
import { type Delivery, readDelivery } from './delivery.ts';

function read(reply: string): Delivery | undefined {
  const out: Delivery = { streamSeq: -1, deliverySeq: -1, publishedMs: -1, pending: -1 };
  return readDelivery(reply, out) ? out : undefined;
}

describe('readDelivery', () => {
  it('reads the 9-token reply subject (nats-server 2.9)', () => {
    expect(read('$JS.ACK.CLICKS.pipe.1.1234.17.1700000000123456789.42')).toEqual({
      streamSeq: 1234,
      deliverySeq: 17,
      publishedMs: 1_700_000_000_123,
      pending: 42,
    });
  });

  it('reads the 11- and 12-token forms (domain, account hash, random suffix)', () => {
    const expected = { streamSeq: 99, deliverySeq: 3, publishedMs: 1_700_000_000_999, pending: 7 };
    expect(read('$JS.ACK._.ACCHASH.S.c.2.99.3.1700000000999000001.7')).toEqual(expected);
    expect(read('$JS.ACK.hub.ACCHASH.S.c.2.99.3.1700000000999000001.7.r4nd0m')).toEqual(expected);
  });

  it('truncates nanoseconds to milliseconds exactly (they exceed 2^53)', () => {
    // As a double, 1700000000123999999 rounds up to ...124000000: dividing it would give ...124 ms.
    expect(Math.floor(Number.parseInt('1700000000123999999', 10) / 1e6)).toBe(1_700_000_000_124);
    expect(read('$JS.ACK.S.c.1.1.1.1700000000123999999.0')?.publishedMs).toBe(1_700_000_000_123);
    expect(read('$JS.ACK.S.c.1.1.1.999999.0')?.publishedMs).toBe(0);
  });

  it('rejects what is not a JetStream delivery', () => {
    expect(read('_INBOX.abc')).toBeUndefined();
    expect(read('$JS.ACK.S.c.1.x.1.1700000000000000000.0')).toBeUndefined();
    expect(read('$JS.ACK.S.c.1.2.3')).toBeUndefined();
    expect(read('$JS.ACK.S.c.1..3.1700000000000000000.0')).toBeUndefined();
    expect(read('$JS.ACK.S.c.1.2.3.1700000000000000000.')).toBeUndefined();
    expect(read('$JS.ACK.S.c.1.2.3.1700000000000000000.x')).toBeUndefined();
  });

  it('reads the received bytes as it reads the text', () => {
    const reply = '$JS.ACK.S.c.1.42.7.1700000000123456789.5';
    const out: Delivery = { streamSeq: -1, deliverySeq: -1, publishedMs: -1, pending: -1 };
    expect(readDelivery(new TextEncoder().encode(reply), out)).toBe(true);
    expect(out).toEqual(read(reply));
    expect(readDelivery(new TextEncoder().encode('$JS.AC'), out)).toBe(false);
  });
});
