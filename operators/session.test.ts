import { type Observable, of, take } from 'rxjs';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { combine } from '../aggregators/combine.ts';
import { count } from '../aggregators/count.ts';
import { max } from '../aggregators/max.ts';
import { min } from '../aggregators/min.ts';
import { sum } from '../aggregators/sum.ts';
import { topK } from '../aggregators/top-k.ts';
import { runInScope } from '../state/operator-scope.ts';
import type { Step } from '../test/support/operator-harness.ts';
import { countResult, drive, expectRestoreEquivalence, FakeScope, newScheduler } from '../test/support/operator-harness.ts';
import { seededRandom } from '../test/support/seeded-random.ts';
import { keyColumns, times } from '../test/support/state-values.ts';
import type { WindowResult } from '../windows/window-types.ts';
import type { SessionOptions } from './session.ts';
import { session } from './session.ts';

interface Ev {
  readonly k: string;
  readonly t: number;
  readonly page?: string;
}

const e = (t: number, k = 'a', page?: string): Ev => (page === undefined ? { k, t } : { k, t, page });
const step = (t: number, k = 'a', page?: string): Step<Ev> => ({ event: e(t, k, page) });
const w = countResult;

function counting(over: Partial<SessionOptions<Ev, string, number, number>> = {}) {
  return session<Ev, string, number, number>({ id: 's', gapMs: 10, time: (x) => x.t, key: (x) => x.k, aggregate: count(), ...over });
}

describe('session', () => {
  it('groups events per key within the gap and fires sessions by end when the watermark passes', () => {
    const scope = new FakeScope();
    runInScope(scope, () =>
      newScheduler().run(({ cold, expectObservable }) => {
        const source = cold('abcd-----|', { a: e(0, 'a'), b: e(5, 'a'), c: e(3, 'b'), d: e(30, 'a') });
        // a: [0, 15) with 2 events; b: [3, 13). 30 moves the watermark past both: b ends first.
        expectObservable(source.pipe(counting())).toBe('---(xy)--(z|)', {
          x: w('b', 3, 13, 1, true),
          y: w('a', 0, 15, 2, true),
          z: w('a', 30, 40, 1, true),
        });
      }),
    );
    expect(scope.handle('s').stats?.()).toMatchObject({ in: 4, late: 0, windowsOpen: 0, fired: 3 });
  });

  it('fires in end order when a session grew past sessions queued after it', () => {
    // a opens first ([0, 10)) and grows to [0, 27); b [5, 15) and c [20, 30) open in between.
    // The watermark then passes all three: b, then a, then c (then d, at the end of input).
    const { out } = drive(counting({ maxOutOfOrderMs: 100 }), 's', [step(0), step(5, 'b'), step(9), step(17), step(20, 'c'), step(200, 'd')]);
    expect(out).toEqual([w('b', 5, 15, 1, true), w('a', 0, 27, 3, true), w('c', 20, 30, 1, true), w('d', 200, 210, 1, true)]);
  });

  it('reports an event late when its own session is past, even if an open session would absorb it', () => {
    // a's session [100, 120) is past on time (watermark 130) but alive (lateness 15). An event at 95
    // overlaps it, but its own session [95, 115) ended 15 before the watermark: late, so it cannot
    // drag the start of a's session back.
    const { out, sides } = drive(counting({ gapMs: 20, allowedLatenessMs: 15 }), 's', [step(100), step(130, 'b'), step(95)]);
    expect(sides).toEqual([{ kind: 'late', stage: 's', event: e(95), eventTime: 95, watermark: 130 }]);
    expect(out).toEqual([w('a', 100, 120, 1, false), w('a', 100, 120, 1, true), w('b', 130, 150, 1, true)]);
  });

  it('starts a new session for an event exactly one gap after the last one', () => {
    const { out } = drive(counting({ maxOutOfOrderMs: 100 }), 's', [step(0), step(10), step(19)]);
    expect(out).toEqual([w('a', 0, 10, 1, true), w('a', 10, 29, 2, true)]);
  });

  it('merges sessions bridged by an out-of-order event, merging aggregator states', () => {
    const agg = combine({ n: count<Ev>(), pages: topK((x: Ev) => x.page, 3) });
    const { out, scope } = drive(
      session({ id: 's', gapMs: 10, time: (x: Ev) => x.t, key: (x) => x.k, aggregate: agg, maxOutOfOrderMs: 100, flushEarly: true }),
      's',
      [step(0, 'a', '/x'), step(15, 'a', '/y'), step(1, 'b', '/x'), 'flush', step(8, 'a', '/y'), 'snapshot'],
      { complete: false },
    );
    expect(scope.handle('s').stats?.()).toMatchObject({ windowsOpen: 2 });
    expect(out).toEqual([
      { key: 'a', start: 0, end: 10, value: { n: 1, pages: [{ key: '/x', count: 1 }] }, count: 1, final: false },
      { key: 'b', start: 1, end: 11, value: { n: 1, pages: [{ key: '/x', count: 1 }] }, count: 1, final: false },
      { key: 'a', start: 15, end: 25, value: { n: 1, pages: [{ key: '/y', count: 1 }] }, count: 1, final: false },
    ]);
    // 8 covers [8, 18): it overlaps [0, 10) and [15, 25), so all three become [0, 25).
    const completed = drive(session({ id: 's', gapMs: 10, time: (x: Ev) => x.t, key: (x) => x.k, aggregate: agg, maxOutOfOrderMs: 100 }), 's', [
      step(0, 'a', '/x'),
      step(15, 'a', '/y'),
      step(1, 'b', '/x'),
      step(8, 'a', '/y'),
    ]);
    expect(completed.out).toEqual([
      { key: 'b', start: 1, end: 11, value: { n: 1, pages: [{ key: '/x', count: 1 }] }, count: 1, final: true },
      {
        key: 'a',
        start: 0,
        end: 25,
        value: {
          n: 3,
          pages: [
            { key: '/y', count: 2 },
            { key: '/x', count: 1 },
          ],
        },
        count: 3,
        final: true,
      },
    ]);
  });

  it('extends a session backwards for an out-of-order event', () => {
    const { out } = drive(counting({ maxOutOfOrderMs: 100 }), 's', [step(20), step(12)]);
    expect(out).toEqual([w('a', 12, 30, 2, true)]);
  });

  it('updates sessions late within allowed lateness, including merges, and side-outputs later events', () => {
    const late = e(2);
    const { log, scope } = drive(counting({ allowedLatenessMs: 20 }), 's', [
      step(0), // [0, 10)
      step(15), // [15, 25); watermark 15 fires [0, 10) on time
      step(5), // late within lateness: [0, 15), ends before the watermark: re-emitted at once
      step(13), // bridges [0, 15) and [15, 25): [0, 25) ends after the watermark again, so it waits
      step(40), // [40, 50); watermark 40 fires [0, 25) on time
      step(50), // exactly one gap after 40: a new session [50, 60); watermark 50 purges [0, 25), fires [40, 50)
      { event: late }, // [2, 12) overlaps nothing alive and 12 + 20 <= 50: late
    ]);
    expect(log).toEqual([
      { out: w('a', 0, 10, 1, false) },
      { out: w('a', 0, 15, 2, false) },
      { out: w('a', 0, 25, 4, false) },
      { out: w('a', 0, 25, 4, true) },
      { out: w('a', 40, 50, 1, false) },
      { side: { kind: 'late', stage: 's', event: late, eventTime: 2, watermark: 50 } },
      { out: w('a', 40, 50, 1, true) },
      { out: w('a', 50, 60, 1, true) },
    ]);
    expect(scope.handle('s').stats?.()).toMatchObject({ in: 7, late: 1, windowsOpen: 0 });
  });

  it('reports an event of an already purged session as late instead of opening an overlapping session', () => {
    const steps: Array<Step<Ev>> = [
      step(0), // [0, 10)
      step(20), // watermark 15: [0, 10) purged, final
      'snapshot',
      step(9), // [9, 19) would overlap the final [0, 10): late, although [9, 19) itself is not past the watermark
      step(10), // exactly at the purged end: a new session [10, 20), not overlapping
    ];
    const whole = drive(counting({ maxOutOfOrderMs: 5 }), 's', steps);
    expect(whole.log).toEqual([
      { out: w('a', 0, 10, 1, true) },
      { side: { kind: 'late', stage: 's', event: e(9), eventTime: 9, watermark: 15 } },
      { out: w('a', 10, 20, 1, true) },
      { out: w('a', 20, 30, 1, true) },
    ]);
    // The purged session end is part of the snapshot, so a restored run agrees.
    expect(keyColumns((whole.snapshot as { closedKeys: unknown }).closedKeys)).toEqual(['a']);
    const { closedEnds, closedEndsFrom } = whole.snapshot as { closedEnds: string; closedEndsFrom: number };
    expect(times(closedEnds, 1, closedEndsFrom)).toEqual([10]);
    const restored = drive(counting({ maxOutOfOrderMs: 5 }), 's', steps.slice(3), { restored: whole.snapshot });
    expect(restored.log).toEqual(whole.log.slice(1));
  });

  it('ranks a key that returns after its session was purged as a new key, also after a restore', () => {
    const steps: Array<Step<Ev>> = [
      step(0, 'a'), // [0, 10)
      step(11, 'b'), // watermark 11: a's [0, 10) purged (a stays known for its purged end); b [11, 21)
      step(11, 'a'), // a again: [11, 21), ending with b's
      step(40, 'c'), // both fire: equal ends, so first-seen order, and a counts as seen after b
    ];
    const whole = expectRestoreEquivalence(
      () => counting(),
      's',
      steps,
      [1, 2, 3],
      (x, y) => expect(x).toEqual(y),
    );
    expect(whole.out).toEqual([w('a', 0, 10, 1, true), w('b', 11, 21, 1, true), w('a', 11, 21, 1, true), w('c', 40, 50, 1, true)]);
  });

  it('emits only final sessions by default: flush() is not offered to the runner', () => {
    const { out, scope } = drive(counting(), 's', [step(0), 'flush', step(5), 'flush', step(30)]);
    expect(scope.handle('s').flush).toBeUndefined();
    expect(out).toEqual([w('a', 0, 15, 2, true), w('a', 30, 40, 1, true)]);
  });

  it('with flushEarly, flush() emits growing sessions early with a growing count', () => {
    const { out } = drive(counting({ flushEarly: true }), 's', [step(0), 'flush', step(5), 'flush', 'flush', step(7, 'b'), step(30)]);
    expect(out).toEqual([
      w('a', 0, 10, 1, false),
      w('a', 0, 15, 2, false),
      w('a', 0, 15, 2, true), // 30 fires both, a (ending at 15) first; unchanged since the flush, but final
      w('b', 7, 17, 1, true),
      w('a', 30, 40, 1, true),
    ]);
  });

  it('restores from a snapshot and produces the same output as an uninterrupted run', () => {
    const steps = randomSteps();
    const agg = combine({ n: count<Ev>(), pages: topK((x: Ev) => x.page, 2) });
    const make = () =>
      session({ id: 's', gapMs: 12, time: (x: Ev) => x.t, key: (x) => x.k, aggregate: agg, maxOutOfOrderMs: 10, allowedLatenessMs: 15, flushEarly: true });
    const whole = expectRestoreEquivalence(make, 's', steps, [0, 7, 8, 99, 100, 101, 333, 450, steps.length], (a, b) => expect(a).toEqual(b));
    expect(whole.sides.length).toBeGreaterThan(5);
    expect(whole.out.filter((r) => r.final).length).toBeGreaterThan(20);
    // Final sessions of a key never overlap, and counts add up to the events not side-outputted.
    const finals = whole.out.filter((r) => r.final);
    const byKey = new Map<string, Array<{ start: number; end: number }>>();
    for (const r of finals) byKey.set(r.key, [...(byKey.get(r.key) ?? []), { start: r.start, end: r.end }]);
    for (const sessions of byKey.values()) {
      sessions.sort((a, b) => a.start - b.start);
      for (let i = 1; i < sessions.length; i++) expect(sessions[i]!.start).toBeGreaterThanOrEqual(sessions[i - 1]!.end);
    }
    expect(finals.reduce((n, r) => n + r.count, 0) + whole.sides.length).toBe(500);
  });

  it('keeps number states in typed arrays, with the output and checkpoints of states kept as values', () => {
    const steps = randomSteps();
    const numeric = () => combine({ n: count<Ev>(), pages: sum((x: Ev) => x.page?.length), first: min((x: Ev) => x.t), last: max((x: Ev) => x.t) });
    // The same aggregator without its number states: its states are JS values, as before they existed.
    const asValues = () => {
      const { numbers, ...agg } = numeric();
      expect(numbers?.width).toBe(4);
      return agg;
    };
    const make = (agg: () => ReturnType<typeof numeric>) => () =>
      session({ id: 's', gapMs: 12, time: (x: Ev) => x.t, key: (x) => x.k, aggregate: agg(), maxOutOfOrderMs: 10, allowedLatenessMs: 15, flushEarly: true });
    const whole = expectRestoreEquivalence(make(numeric), 's', steps, [0, 8, 100, 333, steps.length], (a, b) => expect(a).toEqual(b));
    expect(whole.log).toEqual(drive(make(asValues)(), 's', steps).log);
    expect(whole.out.filter((r) => r.final).length).toBeGreaterThan(20);
    // A checkpoint of either kind restores into the other.
    for (const [from, to] of [
      [numeric, asValues],
      [asValues, numeric],
    ] as const) {
      const first = drive(make(from)(), 's', [...steps.slice(0, 250), 'snapshot'], { complete: false });
      const second = drive(make(to)(), 's', steps.slice(250), { restored: first.snapshot });
      expect([...first.log, ...second.log]).toEqual(whole.log);
    }
  });

  it('keeps exact sessions for thousands of keys, as its store grows and reuses slots', () => {
    // 3,000 users (the store starts with 1,024 slots): each active in bursts with gaps both under and
    // over the session gap, in time order, so keys open, close, are forgotten and return many times.
    const random = seededRandom(11);
    const rand = (): number => random.float();
    const gapMs = 100;
    const events: Ev[] = [];
    const expected: Array<{ key: string; start: number; end: number; count: number }> = [];
    for (let u = 0; u < 3_000; u++) {
      let t = Math.floor(rand() * 500);
      let session = { key: `u${u}`, start: t, end: t + gapMs, count: 0 };
      for (let i = 0; i < 12; i++) {
        events.push({ k: `u${u}`, t });
        session.count++;
        session.end = t + gapMs;
        const pause = rand() < 0.6 ? 1 + Math.floor(rand() * (gapMs - 1)) : gapMs + Math.floor(rand() * 300);
        if (pause >= gapMs || i === 11) {
          expected.push(session);
          session = { key: `u${u}`, start: t + pause, end: 0, count: 0 };
        }
        t += pause;
      }
    }
    events.sort((a, b) => a.t - b.t);
    const steps = events.map((event) => ({ event }));
    const make = () => session<Ev, string, number, number>({ id: 's', gapMs, time: (x) => x.t, key: (x) => x.k, aggregate: count() });
    const whole = expectRestoreEquivalence(make, 's', steps, [1_500, 20_000], (a, b) => expect(a).toEqual(b));
    const finals = whole.out.filter((r) => r.final).map((r) => ({ key: r.key, start: r.start, end: r.end, count: r.count }));
    const order = (a: { key: string; start: number }, b: { key: string; start: number }) => a.key.localeCompare(b.key) || a.start - b.start;
    expect(finals.sort(order)).toEqual(expected.sort(order));
    expect(whole.sides).toEqual([]);
    // Emitted in end order.
    const ends = whole.out.map((r) => r.end);
    expect(ends).toEqual([...ends].sort((a, b) => a - b));
  });

  it('keeps number and non-ASCII keys as they were, also across a restore', () => {
    const keys: Array<string | number> = [1, '1', 'ü€', '😀', '', 2.5];
    const steps = keys.flatMap((k, i) => [{ event: { k, t: i } }, { event: { k, t: i + 3 } }]).concat([{ event: { k: 'z', t: 40 } }]);
    const make = () =>
      session<{ k: string | number; t: number }, string | number, number, number>({
        id: 's',
        gapMs: 10,
        time: (x) => x.t,
        key: (x) => x.k,
        aggregate: count(),
      });
    const whole = expectRestoreEquivalence(make, 's', steps, [3, 7, 12], (a, b) => expect(a).toEqual(b));
    expect(whole.out.map((r) => r.key)).toEqual([...keys, 'z']);
  });

  it('restores snapshots whose keys are a list of values (checkpoints written before key columns)', () => {
    const steps: Array<Step<Ev>> = [step(0, 'a'), step(2, 'b'), step(20, 'c'), step(21, 'a')];
    const before = drive(counting({ maxOutOfOrderMs: 5 }), 's', [...steps, 'snapshot'], { complete: false });
    const snapshot = before.snapshot as { keys: unknown; closedKeys: unknown };
    expect(keyColumns(snapshot.keys)).toEqual(['c', 'a']);
    expect(keyColumns(snapshot.closedKeys)).toEqual(['a', 'b']);
    const asValues = { ...snapshot, keys: keyColumns(snapshot.keys), closedKeys: keyColumns(snapshot.closedKeys) };
    // b at 11 is before the end of its purged session (12): late, known from the closed keys.
    const rest: Array<Step<Ev>> = [step(11, 'b'), step(22, 'c'), step(60, 'd')];
    const fromColumns = drive(counting({ maxOutOfOrderMs: 5 }), 's', rest, { restored: snapshot });
    const fromValues = drive(counting({ maxOutOfOrderMs: 5 }), 's', rest, { restored: asValues });
    expect(fromValues.log).toEqual(fromColumns.log);
    expect(fromColumns.log).toEqual([
      { side: { kind: 'late', stage: 's', event: e(11, 'b'), eventTime: 11, watermark: 16 } },
      { out: w('a', 21, 31, 1, true) },
      { out: w('c', 20, 32, 2, true) },
      { out: w('d', 60, 70, 1, true) },
    ]);
  });

  it('validates the gap', () => {
    expect(() => counting({ gapMs: 0 })).toThrow(/gapMs/);
  });

  it('handles empty, never, errors, early unsubscribe and downstream take', () => {
    runInScope(new FakeScope(), () =>
      newScheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
        expectObservable(cold<Ev>('|').pipe(counting())).toBe('|');
        expectObservable(cold<Ev>('-').pipe(counting())).toBe('-');
        const failing = cold<Ev>('a#', { a: e(1) }, new Error('boom'));
        expectObservable(failing.pipe(counting())).toBe('-#', undefined, new Error('boom'));
        expectSubscriptions(failing.subscriptions).toBe('^!');

        const source = hot('-a-b-c-|', { a: e(1), b: e(30), c: e(60) });
        expectObservable(source.pipe(counting()), '^-!').toBe('--');
        expectObservable(source.pipe(counting(), take(1))).toBe('---(x|)', { x: w('a', 1, 11, 1, true) });
        expectSubscriptions(source.subscriptions).toBe(['^-!', '^--!']);
      }),
    );
  });

  it('infers event, key and result types inside pipe() without annotations', () => {
    interface PageEvent {
      readonly user: string;
      readonly page?: string;
      readonly price?: number;
      readonly ts: number;
    }
    const source: Observable<PageEvent> = of();
    const sessions = source.pipe(session({ gapMs: 10, time: (e) => e.ts, key: (e) => e.ts % 2, aggregate: max((e: PageEvent) => e.price) }));
    expectTypeOf(sessions).toEqualTypeOf<Observable<WindowResult<number, number | null>>>();
  });
});

/** 500 events of 8 users, each active every ~20 ms on average (sessions start, merge and end), disorder up to 50 ms, with flushes. */
function randomSteps(): Array<Step<Ev>> {
  const random = seededRandom(3);
  const rand = (): number => random.float();
  const steps: Array<Step<Ev>> = [];
  let t = 0;
  for (let i = 0; i < 500; i++) {
    t += Math.floor(rand() * 6);
    steps.push(step(t - Math.floor(rand() * 50), `u${Math.floor(rand() * 8)}`, `/p${Math.floor(rand() * 3)}`));
    if (i % 6 === 0) steps.push('flush');
  }
  return steps;
}
