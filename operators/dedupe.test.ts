import { from, Subject, take, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import type { DedupeSnapshot } from '../state/key-queue.ts';
import { runInScope } from '../state/operator-scope.ts';
import { FakeScope } from '../test/support/operator-harness.ts';
import { seededRandom } from '../test/support/seeded-random.ts';
import { column, dedupeTimes } from '../test/support/state-values.ts';
import type { DedupeOptions } from './dedupe.ts';
import { dedupe } from './dedupe.ts';

interface Ev {
  readonly id: string;
  readonly t: number;
}

const opts = (over: Partial<DedupeOptions<Ev>> = {}): DedupeOptions<Ev> => ({
  key: (e) => e.id,
  time: (e) => e.t,
  ttlMs: 10,
  ...over,
});

function newScheduler() {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
}

/** Run `events` through a fresh dedupe inside `scope`, synchronously. */
function runSync(scope: FakeScope, events: readonly Ev[], over: Partial<DedupeOptions<Ev>> = {}): Ev[] {
  let result: Ev[] = [];
  runInScope(scope, () =>
    from(events)
      .pipe(dedupe(opts(over)), toArray())
      .subscribe((r) => (result = r)),
  );
  return result;
}

describe('dedupe', () => {
  it('suppresses repeated keys within the event-time TTL', () => {
    const scope = new FakeScope();
    runInScope(scope, () =>
      newScheduler().run(({ cold, expectObservable }) => {
        const values = {
          a: { id: 'a', t: 0 },
          b: { id: 'b', t: 1 },
          A: { id: 'a', t: 5 }, // duplicate of a
          B: { id: 'b', t: 11 }, // maxTime - t0(b) = 10: still remembered (not > ttl)
          C: { id: 'a', t: 11 }, // maxTime - t0(a) = 11 > 10: forgotten, emitted again
          D: { id: 'a', t: 12 }, // duplicate of the re-seen a
        };
        expectObservable(cold('abABCD|', values).pipe(dedupe(opts()))).toBe('ab--C-|', values);
      }),
    );
    expect(scope.handle('dedupe#0').stats?.()).toMatchObject({ in: 6, out: 3, duplicates: 3, evicted: 0 });
  });

  it('expires by event time even when keys were inserted out of order', () => {
    // 'late' is inserted after 'new' but with an older time: it is not at the queue front,
    // yet it must be forgotten as soon as the TTL is exceeded.
    const events: Ev[] = [
      { id: 'new', t: 100 },
      { id: 'late', t: 91 },
      { id: 'x', t: 102 }, // maxTime 102: late is 11 behind -> expired
      { id: 'late', t: 103 },
      { id: 'new', t: 104 }, // 4 behind: duplicate
    ];
    const out = runSync(new FakeScope(), events);
    expect(out).toEqual([events[0], events[1], events[2], events[3]]);
  });

  it('evicts the oldest-inserted keys beyond maxKeys', () => {
    const scope = new FakeScope();
    const events: Ev[] = [
      { id: 'a', t: 0 },
      { id: 'b', t: 0 },
      { id: 'c', t: 0 }, // evicts a
      { id: 'b', t: 1 }, // still held: duplicate
      { id: 'a', t: 1 }, // forgotten by eviction: emitted, evicts b (the oldest inserted)
      { id: 'c', t: 1 }, // still held: duplicate
    ];
    const out = runSync(scope, events, { maxKeys: 2, ttlMs: 1_000 });
    expect(out).toEqual([events[0], events[1], events[2], events[4]]);
    expect(scope.handle('dedupe#0').stats?.()).toMatchObject({ in: 6, out: 4, duplicates: 2, evicted: 2, keys: 2 });
  });

  it('restores from a snapshot and behaves like an uninterrupted run', () => {
    const events: Ev[] = [];
    const random = seededRandom(42);
    const rand = (): number => random.float();
    // 30 keys, time mostly increasing with some disorder: exercises duplicates, expiry and eviction.
    for (let i = 0; i < 2_000; i++) events.push({ id: `k${Math.floor(rand() * 30)}`, t: i * 2 - Math.floor(rand() * 20) });
    const cut = 1_234;
    const over = { ttlMs: 30, maxKeys: 12 };

    const whole = runSync(new FakeScope(), events, over);

    const first = new FakeScope();
    const before = runSync(first, events.slice(0, cut), over);
    const snapshot: unknown = JSON.parse(JSON.stringify(first.handle('dedupe#0').snapshot?.()));
    const after = runSync(new FakeScope({ 'dedupe#0': snapshot }), events.slice(cut), over);

    expect([...before, ...after]).toEqual(whole);
    // The stream exercises duplicates, TTL expiry and maxKeys eviction alike.
    const counters = new FakeScope();
    runSync(counters, events, over);
    const { duplicates, evicted, expired } = counters.handle('dedupe#0').stats?.() ?? {};
    expect([duplicates, evicted, expired].every((n) => n !== undefined && n > 0)).toBe(true);
    expect(whole.length).toBeGreaterThan(100);
    expect(whole.length).toBeLessThan(events.length);
  });

  it('snapshots key fingerprints in insertion order with their times and the max time', () => {
    const scope = new FakeScope();
    runSync(scope, [
      { id: 'b', t: 5 },
      { id: 'a', t: 3 },
      { id: 'b', t: 6 },
    ]);
    const snapshot = serialized(scope);
    expect(snapshot.maxTime).toBe(6);
    expect(dedupeTimes(snapshot)).toEqual([5, 3]);
    expect(column(snapshot.hi, 'uint32')).toHaveLength(2);
  });

  it('stays bounded on long streams with many distinct keys', () => {
    const scope = new FakeScope();
    const events: Ev[] = [];
    for (let i = 0; i < 50_000; i++) events.push({ id: `k${i}`, t: i });
    const out = runSync(scope, events, { ttlMs: 100 });
    expect(out).toHaveLength(50_000);
    const stats = scope.handle('dedupe#0').stats?.();
    expect(stats?.keys).toBe(101);
    expect(dedupeTimes(serialized(scope))).toHaveLength(101);
  });

  it('keeps insertion order and every held key when its ring wraps around and then grows', () => {
    // 500 live keys wrap the 1,024-slot ring several times; then time stands still while 3,000 new
    // keys arrive, so the ring grows with its live keys straddling the wrap.
    const events: Ev[] = [];
    for (let i = 0; i < 5_000; i++) events.push({ id: `w${i}`, t: i });
    for (let i = 0; i < 3_000; i++) events.push({ id: `g${i}`, t: 5_000 });
    const scope = new FakeScope();
    const source = new Subject<Ev>();
    const out: Ev[] = [];
    runInScope(scope, () => source.pipe(dedupe(opts({ ttlMs: 500 }))).subscribe((e) => out.push(e)));
    for (const e of events) source.next(e);
    const times = dedupeTimes(serialized(scope));
    // Held: w4500..w4999 (within 500 of 5,000) and every g, in the order they came.
    expect(times).toEqual([...Array.from({ length: 500 }, (_, i) => 4_500 + i), ...Array<number>(3_000).fill(5_000)]);
    // Re-sent keys from both sides of the growth are still held; an expired one is new again.
    for (const id of ['w4500', 'w4999', 'g0', 'g2999', 'w4499']) source.next({ id, t: 5_000 });
    expect(out.slice(events.length).map((e) => e.id)).toEqual(['w4499']);
    // Time moves on and the front of the grown ring is trimmed: every key still held stays a duplicate.
    source.next({ id: 'tick', t: 5_400 });
    const emitted = out.length;
    for (let i = 4_900; i < 5_000; i++) source.next({ id: `w${i}`, t: 5_400 });
    for (let i = 0; i < 3_000; i++) source.next({ id: `g${i}`, t: 5_400 });
    expect(out.length).toBe(emitted);
  });

  it('keeps a key re-admitted after expiry deduplicated across the ring growing past its dead slot', () => {
    const scope = new FakeScope();
    const source = new Subject<Ev>();
    const out: Ev[] = [];
    runInScope(scope, () => source.pipe(dedupe(opts({ ttlMs: 500 }))).subscribe((e) => out.push(e)));
    // 'late' comes behind a newer key, so the trim leaves it; re-sent, it has expired: new again,
    // its first slot dead. Then 2,000 keys at one time make the ring grow past both slots.
    for (const e of [
      { id: 'x', t: 1_000 },
      { id: 'late', t: 0 },
      { id: 'late', t: 1_000 },
    ])
      source.next(e);
    for (let i = 0; i < 2_000; i++) source.next({ id: `g${i}`, t: 1_000 });
    source.next({ id: 'late', t: 1_000 });
    source.next({ id: 'x', t: 1_000 });
    expect(out.map((e) => e.id).filter((id) => !id.startsWith('g'))).toEqual(['x', 'late', 'late']);
    const times = dedupeTimes(serialized(scope));
    expect(times).toEqual(Array<number>(2_002).fill(1_000));
  });

  it('serializes a snapshot as it was when taken, not as the state is when it is serialized', () => {
    // The runner serializes a snapshot after its cut, while events keep arriving.
    const scope = new FakeScope();
    const source = new Subject<Ev>();
    runInScope(scope, () => source.pipe(dedupe(opts())).subscribe());
    source.next({ id: 'a', t: 1 });
    const taken = scope.handle('dedupe#0').snapshot?.();
    source.next({ id: 'b', t: 2 });
    source.next({ id: 'c', t: 30 }); // expires a and b
    const snapshot = JSON.parse(JSON.stringify(taken)) as DedupeSnapshot;
    expect(snapshot.maxTime).toBe(1);
    expect(dedupeTimes(snapshot)).toEqual([1]);
  });

  it('rejects a malformed snapshot and invalid options', () => {
    let error: unknown;
    runInScope(new FakeScope({ 'dedupe#0': { keys: 'nope' } }), () =>
      from([{ id: 'a', t: 1 }])
        .pipe(dedupe(opts()))
        .subscribe({ error: (e: unknown) => (error = e) }),
    );
    expect(String(error)).toMatch(/cannot restore snapshot/);
    expect(() => dedupe(opts({ maxKeys: 0 }))).toThrow(/maxKeys/);
    expect(() => dedupe(opts({ ttlMs: -1 }))).toThrow(/ttlMs/);
  });

  it('handles empty, never, errors, early unsubscribe and downstream take', () => {
    runInScope(new FakeScope(), () =>
      newScheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
        const values = { a: { id: 'a', t: 1 }, b: { id: 'b', t: 2 }, c: { id: 'a', t: 3 }, d: { id: 'd', t: 4 } };
        expectObservable(cold<Ev>('|').pipe(dedupe(opts()))).toBe('|');
        expectObservable(cold<Ev>('-').pipe(dedupe(opts()))).toBe('-');
        const failing = cold<Ev>('-a-#', values);
        expectObservable(failing.pipe(dedupe(opts()))).toBe('-a-#', values);
        expectSubscriptions(failing.subscriptions).toBe('^--!');

        const source = hot<Ev>('-a-b-c-d-|', values);
        expectObservable(source.pipe(dedupe(opts())), '^--!').toBe('-a--', values);
        expectObservable(source.pipe(dedupe(opts()), take(3))).toBe('-a-b---(d|)', values);
        expectSubscriptions(source.subscriptions).toBe(['^--!', '^------!']);
      }),
    );
  });

  it('passes events without a usable time, and keeps deduplicating the others', () => {
    const scope = new FakeScope();
    const out = runSync(scope, [
      { id: 'a', t: 1 },
      { id: 'n', t: Number.NaN },
      { id: 'n', t: Number.NaN }, // remembered as already expired: not suppressed
      { id: 'a', t: 2 }, // duplicate
      { id: 'b', t: 3 },
    ]);
    expect(out.map((e) => e.id)).toEqual(['a', 'n', 'n', 'b']);
    expect(scope.handle('dedupe#0').stats?.()).toMatchObject({ in: 5, out: 4, duplicates: 1 });
  });

  it('errors the stream when a key extractor throws', () => {
    let error: unknown;
    const bad = dedupe<Ev>({
      key: () => {
        throw new Error('no key');
      },
      time: (e) => e.t,
      ttlMs: 1,
    });
    from([{ id: 'a', t: 1 }])
      .pipe(bad)
      .subscribe({ error: (e: unknown) => (error = e) });
    expect(error).toEqual(new Error('no key'));
  });
});

/** A snapshot as a checkpoint stores it: serialized to JSON and parsed back. */
function serialized(scope: FakeScope): DedupeSnapshot {
  return JSON.parse(JSON.stringify(scope.handle('dedupe#0').snapshot?.())) as DedupeSnapshot;
}
