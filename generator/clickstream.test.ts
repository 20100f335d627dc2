import { describe, expect, expectTypeOf, it } from 'vitest';
import { ClickEvent } from '../pipelines/clickstream-events.ts';
import { products, sitePages } from '../pipelines/clickstream-site.ts';
import type { GeneratedMessage, GeneratorOptions, Malformation } from './clickstream.ts';
import { ADDED_FIELD, generateClickstream } from './clickstream.ts';
import { malformations } from './messages.ts';
import { partitionSubject } from './partition.ts';
import { sessionGapMs } from './scheduler.ts';
import { siteOrigin, unmappedPages } from './site.ts';

const startTime = Date.UTC(2025, 0, 1);
const tickMs = 100;
const base: GeneratorOptions = { seed: 42, startTime, eventsPerSecond: 1000 / tickMs };
const knobs: GeneratorOptions = {
  ...base,
  duplicateRate: 0.05,
  outOfOrderRate: 0.05,
  maxOutOfOrderMs: 2_000,
  lateRate: 0.02,
  lateByMs: 600_000,
  malformedRate: 0.03,
};

function take(options: GeneratorOptions, n: number): GeneratedMessage[] {
  const out: GeneratedMessage[] = [];
  for (const m of generateClickstream(options)) {
    out.push(m);
    if (out.length === n) break;
  }
  return out;
}

const withKnobs = take(knobs, 20_000);
const clean = take(base, 20_000);
const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });
const decode = (payload: Uint8Array): unknown => JSON.parse(fatalUtf8.decode(payload));
const clockAt = (i: number): number => Math.floor(startTime + i * tickMs);
const count = (messages: GeneratedMessage[], kind: GeneratedMessage['kind']): number => messages.filter((m) => m.kind === kind).length;

describe('generateClickstream', () => {
  it('is deterministic: same options, byte-identical messages', () => {
    const again = take(knobs, 20_000);
    expect(again.map((m) => m.msgId)).toEqual(withKnobs.map((m) => m.msgId));
    for (const [i, m] of again.entries()) expect(Buffer.compare(m.payload, (withKnobs[i] as GeneratedMessage).payload)).toBe(0);
  });

  it('depends on the seed', () => {
    const other = take({ ...knobs, seed: 43 }, 100);
    expect(other.map((m) => m.msgId)).not.toEqual(withKnobs.slice(0, 100).map((m) => m.msgId));
  });

  it('validates options eagerly', () => {
    expect(() => generateClickstream({ ...base, eventsPerSecond: 0 })).toThrow('eventsPerSecond');
    expect(() => generateClickstream({ ...base, duplicateRate: 1.5 })).toThrow('duplicateRate');
    expect(() => generateClickstream({ ...base, lateRate: 0.6, malformedRate: 0.6 })).toThrow('must not exceed 1');
    expect(() => generateClickstream({ ...base, users: 0 })).toThrow('users');
    expect(() => generateClickstream({ ...base, startTime: 1_000 })).toThrow('startTime');
    expect(() => generateClickstream({ startTime, eventsPerSecond: 1 })).not.toThrow();
  });

  it('emits schema-valid events whose payload is exactly the event', () => {
    for (const m of withKnobs) {
      if (m.kind === 'malformed') continue;
      expect(ClickEvent.safeParse(m.event).success, m.msgId).toBe(true);
      if (m.kind === 'valid' && m.addedField !== undefined) {
        // A producer a version ahead: the event plus one field the schema does not know.
        expect(decode(m.payload)).toEqual({ ...m.event, [m.addedField]: expect.any(String) });
      } else expect(decode(m.payload)).toEqual(m.event);
    }
  });

  it('gives every message a unique msgId, except same-msgId re-sends', () => {
    const ids = withKnobs.filter((m) => !(m.kind === 'duplicate' && m.sameMsgId)).map((m) => m.msgId);
    expect(new Set(ids).size).toBe(ids.length);
    const eventIds = withKnobs.flatMap((m) => (m.kind === 'valid' || m.kind === 'late' ? [m.event.event_id] : []));
    expect(new Set(eventIds).size).toBe(eventIds.length);
    expect(eventIds[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('honours the rates approximately', () => {
    const n = withKnobs.length;
    const rate = (k: number): number => k / n;
    expect(rate(count(withKnobs, 'duplicate'))).toBeCloseTo(0.05, 1);
    expect(Math.abs(rate(count(withKnobs, 'duplicate')) - 0.05)).toBeLessThan(0.008);
    expect(Math.abs(rate(count(withKnobs, 'late')) - 0.02)).toBeLessThan(0.005);
    // The edge-case cycle spends 8 of every 10 slots on malformations.
    expect(Math.abs(rate(count(withKnobs, 'malformed')) - (0.03 * 8) / 10)).toBeLessThan(0.005);
    expect(withKnobs.filter((m) => m.kind === 'valid' && m.addedField === ADDED_FIELD).length).toBeGreaterThan(0);
    const outOfOrder = withKnobs.filter((m) => m.kind === 'valid' && m.outOfOrder === true).length;
    expect(Math.abs(rate(outOfOrder) - 0.05)).toBeLessThan(0.008);
    expect(clean.every((m) => m.kind === 'valid' && m.outOfOrder === undefined && m.unicodeEdge === undefined && m.addedField === undefined)).toBe(true);
  });

  it('stamps valid events with the synthetic clock: 1000/eventsPerSecond ms per message', () => {
    for (const [i, m] of clean.entries()) expect(m.kind === 'valid' && m.event.ts).toBe(clockAt(i));
    withKnobs.forEach((m, i) => {
      if (m.kind === 'late') expect(m.event.ts).toBe(clockAt(i) - 600_000);
      if (m.kind === 'valid' && m.outOfOrder !== true) expect(m.event.ts).toBe(clockAt(i));
      if (m.kind === 'valid' && m.outOfOrder === true) {
        expect(m.event.ts).toBeLessThan(clockAt(i));
        expect(m.event.ts).toBeGreaterThanOrEqual(clockAt(i) - 2_000);
      }
    });
  });

  it('re-sends recent valid events with the same bytes, alternating msgId strategies', () => {
    const byMsgId = new Map<string, { index: number; payload: Uint8Array }>();
    for (const [index, m] of withKnobs.entries()) if (m.kind === 'valid') byMsgId.set(m.msgId, { index, payload: m.payload });
    const duplicates = withKnobs.flatMap((m, index) => (m.kind === 'duplicate' ? [{ m, index }] : []));
    for (const { m, index } of duplicates) {
      const original = byMsgId.get(m.sameMsgId ? m.msgId : m.msgId.replace(/~retry$/, ''));
      expect(original).toBeDefined();
      expect(m.payload).toEqual(original?.payload);
      expect(m.msgId.endsWith('~retry')).toBe(!m.sameMsgId);
      // A short while later: within the last 32 valid events.
      expect(index - (original?.index ?? 0)).toBeGreaterThan(0);
      expect(index - (original?.index ?? 0)).toBeLessThan(64);
    }
    const same = duplicates.filter((d) => d.m.sameMsgId).length;
    expect(Math.abs(same - (duplicates.length - same))).toBeLessThanOrEqual(1);
  });

  it('cycles through every malformation, each broken as intended', () => {
    const seen = new Map<Malformation, Uint8Array[]>();
    for (const m of withKnobs) if (m.kind === 'malformed') seen.set(m.malformation, [...(seen.get(m.malformation) ?? []), m.payload]);
    expect([...seen.keys()].sort()).toEqual([...malformations].sort());

    const payloads = (kind: Malformation): Uint8Array[] => seen.get(kind) ?? [];
    const text = (payload: Uint8Array): string => fatalUtf8.decode(payload);
    for (const p of payloads('invalid-json')) expect(() => JSON.parse(text(p))).toThrow();
    for (const kind of ['schema', 'wrong-type', 'missing-field'] as const) {
      for (const p of payloads(kind)) expect(ClickEvent.safeParse(decode(p)).success, `${kind}: ${text(p)}`).toBe(false);
    }
    for (const p of payloads('wrong-type')) {
      const record = decode(p) as Record<string, unknown>;
      expect(typeof record.ts === 'string' || typeof record.url === 'object').toBe(true);
    }
    for (const p of payloads('non-utf8')) {
      expect(() => fatalUtf8.decode(p)).toThrow();
      // Lenient decoding still sees an event: only the bytes are wrong.
      expect(ClickEvent.safeParse(JSON.parse(new TextDecoder().decode(p))).success).toBe(true);
    }
    for (const p of payloads('oversized')) {
      expect(p.byteLength).toBeGreaterThan(32 * 1024);
      expect(p.byteLength).toBeLessThan(1024 * 1024);
      expect(() => decode(p)).not.toThrow();
    }

    withKnobs.forEach((m, i) => {
      if (m.kind !== 'malformed' || !m.malformation.endsWith('-timestamp')) return;
      const parsed = ClickEvent.safeParse(decode(m.payload));
      expect(parsed.success).toBe(true);
      const skew = (parsed.data?.ts ?? 0) - clockAt(i);
      expect(skew).toBe(m.malformation === 'future-timestamp' ? 2 * 86_400_000 : -30 * 86_400_000);
    });
  });

  it('mixes in valid unicode-edge events', () => {
    const edge = withKnobs.filter((m) => m.kind === 'valid' && m.unicodeEdge === true);
    expect(edge.length).toBeGreaterThan(0);
    for (const m of edge) {
      if (m.kind !== 'valid') continue;
      expect(ClickEvent.safeParse(decode(m.payload)).success).toBe(true);
      // biome-ignore lint/suspicious/noControlCharactersInRegex: the ASCII range, to find a non-ASCII character
      expect(m.event.referrer).toMatch(/[^\x00-\x7f]/);
    }
  });

  it('keeps each user in ts order, except events moved back on purpose', () => {
    const users = new Map<string, number>();
    for (const m of withKnobs) {
      if (m.kind !== 'valid' || m.outOfOrder === true) continue;
      expect(m.event.ts).toBeGreaterThanOrEqual(users.get(m.event.user_id) ?? 0);
      users.set(m.event.user_id, m.event.ts);
    }
  });

  it("spaces a user's events by think times inside visits and by > 30 min between visits", () => {
    const users = new Map<string, number>();
    let visits = 0;
    for (const m of clean) {
      if (m.kind !== 'valid') continue;
      const previous = users.get(m.event.user_id);
      if (previous !== undefined) {
        const gap = m.event.ts - previous;
        expect(gap).toBeGreaterThanOrEqual(0);
        // Think time is at most a minute, plus a little queueing behind other due visits.
        expect(gap <= 65_000 || gap > sessionGapMs, `gap ${gap}`).toBe(true);
        if (gap > sessionGapMs) visits++;
      } else {
        visits++;
      }
      users.set(m.event.user_id, m.event.ts);
    }
    expect(users.size).toBeGreaterThan(1_000);
    expect(visits).toBeGreaterThan(3_000);
  });

  it('looks like a web shop: interleaved users, countries, agents, funnel, conversion', () => {
    const events = clean.flatMap((m) => (m.kind === 'valid' ? [m.event] : []));
    const distinct = <T>(values: T[]): number => new Set(values).size;
    expect(distinct(events.map((e) => e.country))).toBeGreaterThanOrEqual(10);
    expect(distinct(events.map((e) => e.user_agent))).toBeGreaterThanOrEqual(8);
    expect(distinct(events.slice(0, 20).map((e) => e.user_id))).toBeGreaterThan(10);
    expect(events.some((e) => e.referrer === 'https://www.google.com/')).toBe(true);
    expect(events.some((e) => e.referrer === null)).toBe(true);

    const byType = (type: ClickEvent['type']): ClickEvent[] => events.filter((e) => e.type === type);
    const views = byType('page_view').length;
    expect(views / events.length).toBeGreaterThan(0.5);
    expect(byType('click').length).toBeGreaterThan(0);
    expect(byType('click').some((e) => e.type === 'click' && e.element === 'buy-button')).toBe(true);

    const priceOf = new Map(products.map((p) => [p.id, p.price]));
    for (const e of [...byType('add_to_cart'), ...byType('purchase')]) {
      if (e.type !== 'add_to_cart' && e.type !== 'purchase') continue;
      expect(e.price).toBe(priceOf.get(e.product_id));
      if (e.type === 'add_to_cart') expect(e.quantity).toBeGreaterThanOrEqual(1);
      if (e.type === 'add_to_cart') expect(e.quantity).toBeLessThanOrEqual(3);
    }

    // A few percent of visits buy: count visits by the 30-min rule and those with an order.
    const last = new Map<string, number>();
    let visits = 0;
    for (const e of events) {
      const previous = last.get(e.user_id);
      if (previous === undefined || e.ts - previous > sessionGapMs) visits++;
      last.set(e.user_id, e.ts);
    }
    const orders = new Set(byType('purchase').map((e) => (e.type === 'purchase' ? e.order_id : ''))).size;
    expect(orders / visits).toBeGreaterThan(0.01);
    expect(orders / visits).toBeLessThan(0.06);
    expect(byType('add_to_cart').length).toBeGreaterThan(byType('purchase').length);
  });

  it('only visits pages of the site map, plus the deliberately unmapped ones', () => {
    const mapped = new Set(sitePages.map((p) => p.path));
    const unmapped = new Set<string>(unmappedPages);
    const paths = clean
      .flatMap((m) => (m.kind === 'valid' ? [m.event.url] : []))
      .map((url) => {
        expect(url.startsWith(siteOrigin)).toBe(true);
        return url.slice(siteOrigin.length);
      });
    expect(paths.every((p) => mapped.has(p) || unmapped.has(p))).toBe(true);
    const misses = paths.filter((p) => unmapped.has(p)).length;
    expect(misses).toBeGreaterThan(0);
    expect(misses / paths.length).toBeLessThan(0.05);
    expect(new Set(paths.filter((p) => mapped.has(p))).size).toBeGreaterThan(sitePages.length * 0.8);
  });

  it('still orders each user when the population is too small for the rate', () => {
    const saturated = take({ ...base, eventsPerSecond: 1_000, users: 50 }, 5_000);
    const last = new Map<string, number>();
    for (const m of saturated) {
      if (m.kind !== 'valid') continue;
      expect(m.event.ts).toBeGreaterThanOrEqual(last.get(m.event.user_id) ?? 0);
      last.set(m.event.user_id, m.event.ts);
    }
    expect(last.size).toBe(50);
  });

  it('types messages as a union keyed by kind', () => {
    expectTypeOf<Extract<GeneratedMessage, { kind: 'malformed' }>>().not.toHaveProperty('event');
    expectTypeOf<Extract<GeneratedMessage, { kind: 'duplicate' }>['sameMsgId']>().toEqualTypeOf<boolean>();
    expectTypeOf<Extract<GeneratedMessage, { kind: 'late' }>['event']>().toEqualTypeOf<ClickEvent>();
    expectTypeOf(generateClickstream).returns.toMatchTypeOf<Iterable<GeneratedMessage>>();
  });
});

describe('site map', () => {
  it('has unique paths, about 40 of them, and leaves the unmapped pages out', () => {
    const paths = sitePages.map((p) => p.path);
    expect(new Set(paths).size).toBe(paths.length);
    expect(paths.length).toBeGreaterThanOrEqual(35);
    expect(paths.length).toBeLessThanOrEqual(50);
    for (const p of unmappedPages) expect(paths).not.toContain(p);
    expect(new Set(sitePages.map((p) => p.category))).toEqual(new Set(['home', 'category', 'product', 'cart', 'checkout', 'search', 'content']));
    expect(new Set(products.map((p) => p.id)).size).toBe(products.length);
    for (const p of products) expect(paths).toContain(`/product/${p.id}`);
  });
});

describe('partitionSubject', () => {
  it('sends a user always to the same partition, spreading users over all of them', () => {
    const users = clean.flatMap((m) => (m.kind === 'valid' ? [m.event.user_id] : []));
    const subjects = new Set(users.map((u) => partitionSubject('clickstream.events', u, 8)));
    expect([...subjects].sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((p) => `clickstream.events.${p}`));
    expect(partitionSubject('x', 'user-1', 8)).toBe(partitionSubject('x', 'user-1', 8));
    expect(() => partitionSubject('x', 'user-1', 0)).toThrow('partitions');
  });
});
