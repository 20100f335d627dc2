import { type Observable, of, Subject, take, VirtualAction, VirtualTimeScheduler } from 'rxjs';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { combine } from '../aggregators/combine.ts';
import { count } from '../aggregators/count.ts';
import { sum } from '../aggregators/sum.ts';
import { topK } from '../aggregators/top-k.ts';
import type { SideOutput } from '../state/operator-scope.ts';
import { runInScope } from '../state/operator-scope.ts';
import type { Step } from '../test/support/operator-harness.ts';
import { countResult, drive, expectRestoreEquivalence, FakeScope, newScheduler } from '../test/support/operator-harness.ts';
import { seededRandom } from '../test/support/seeded-random.ts';
import { column } from '../test/support/state-values.ts';
import type { WindowResult } from '../windows/window-types.ts';
import type { TumblingOptions } from './tumbling.ts';
import { tumbling } from './tumbling.ts';

interface Ev {
  readonly k: string;
  readonly t: number;
  readonly v?: number;
}

const e = (t: number, k = '', v?: number): Ev => (v === undefined ? { k, t } : { k, t, v });
const step = (t: number, k = '', v?: number): Step<Ev> => ({ event: e(t, k, v) });
const w = countResult;

function counting(over: Partial<TumblingOptions<Ev, string, number, number>> = {}) {
  return tumbling<Ev, string, number, number>({ id: 'w', sizeMs: 10, time: (x) => x.t, key: (x) => x.k, aggregate: count(), ...over });
}

describe('tumbling', () => {
  it('puts an event exactly on a boundary in the next window, and fires when the watermark reaches the end', () => {
    const scope = new FakeScope();
    runInScope(scope, () =>
      newScheduler().run(({ cold, expectObservable }) => {
        const source = cold('abc|', { a: e(0), b: e(9), c: e(10) });
        // c (t = 10) opens [10, 20) and moves the watermark to 10, closing [0, 10) with a and b.
        expectObservable(source.pipe(counting())).toBe('--x(y|)', { x: w('', 0, 10, 2, true), y: w('', 10, 20, 1, true) });
      }),
    );
    expect(scope.handle('w').stats?.()).toMatchObject({ in: 3, late: 0, windowsOpen: 0, fired: 2 });
  });

  it('fires several windows on one watermark advance, by end then key first-seen order; empty windows emit nothing', () => {
    const { out } = drive(counting(), 'w', [step(1, 'b'), step(2, 'a'), step(3, 'b'), step(12, 'a'), step(11, 'c'), step(45, 'b')], {
      complete: false,
    });
    expect(out).toEqual([
      w('b', 0, 10, 2, true), // b was seen before a
      w('a', 0, 10, 1, true),
      w('a', 10, 20, 1, true), // the 12 jumped the watermark past [0, 10) first
      w('c', 10, 20, 1, true),
      // [20, 30) and [30, 40) had no events: nothing. [40, 50) is still open.
    ]);
  });

  it('holds windows back by maxOutOfOrderMs and accepts out-of-order events meanwhile', () => {
    const { out } = drive(counting({ maxOutOfOrderMs: 5 }), 'w', [step(8), step(12), step(3), step(14), step(15), step(16)], {
      complete: false,
    });
    // The watermark is 7 after t = 12, so t = 3 still counts; t = 15 moves it to 10.
    expect(out).toEqual([w('', 0, 10, 2, true)]);
  });

  it('updates windows for late events within allowed lateness, and side-outputs later ones', () => {
    const late = e(3, 'x');
    const { log, scope } = drive(counting({ allowedLatenessMs: 10 }), 'w', [
      step(1, 'x'),
      step(12, 'x'), // watermark 12: [0, 10) fires on time, not final
      step(5, 'x'), // late within lateness: added, re-emitted at once
      step(19, 'x'), // watermark 19: nothing to do ([10, 20) not complete, [0, 10) purges at 20)
      step(20, 'x'), // watermark 20: [0, 10) purged (final), [10, 20) on time
      { event: late }, // [0, 10) is gone: late
      step(25, 'x'),
    ]);
    expect(log).toEqual([
      { out: w('x', 0, 10, 1, false) },
      { out: w('x', 0, 10, 2, false) },
      { out: w('x', 0, 10, 2, true) },
      { out: w('x', 10, 20, 2, false) },
      { side: { kind: 'late', stage: 'w', event: late, eventTime: 3, watermark: 20 } },
      // Completion: everything left is final, in window order.
      { out: w('x', 10, 20, 2, true) },
      { out: w('x', 20, 30, 2, true) },
    ]);
    expect(scope.handle('w').stats?.()).toMatchObject({ in: 7, late: 1, windowsOpen: 0, fired: 6 });
  });

  it('re-opens a window that only exists because of a late event within lateness', () => {
    // [0, 10) never had an on-time event; it is past on-time (watermark 15) but not purged (15 < 10 + 10).
    const { out, sides } = drive(counting({ allowedLatenessMs: 10 }), 'w', [step(15), step(2), step(22)]);
    expect(out).toEqual([w('', 0, 10, 1, false), w('', 0, 10, 1, true), w('', 10, 20, 1, false), w('', 10, 20, 1, true), w('', 20, 30, 1, true)]);
    expect(sides).toEqual([]);
  });

  it('flush() emits changed windows early with a growing count; unchanged windows are not re-emitted', () => {
    const { out } = drive(counting({ allowedLatenessMs: 5 }), 'w', [
      step(1, 'a'),
      step(2, 'b'),
      'flush',
      step(3, 'a'),
      'flush',
      'flush', // nothing changed
      step(10, 'c'), // [0, 10) fires on time, but a and b are unchanged since the flush: no emission
      'flush', // c is new
      step(4, 'a'), // late within lateness: immediate
      step(15, 'c'), // purges a and b: final, even though unchanged
    ]);
    expect(out).toEqual([
      w('a', 0, 10, 1, false),
      w('b', 0, 10, 1, false),
      w('a', 0, 10, 2, false),
      w('c', 10, 20, 1, false),
      w('a', 0, 10, 3, false),
      w('a', 0, 10, 3, true),
      w('b', 0, 10, 1, true),
      w('c', 10, 20, 2, true),
    ]);
  });

  it('emits early results on an earlyFiring interval (virtual time), then the final result', () => {
    runInScope(new FakeScope(), () =>
      newScheduler().run(({ cold, expectObservable }) => {
        const source = cold('a-b------c-------|', { a: e(1), b: e(2), c: e(3) });
        const op = counting({ earlyFiring: { everyMs: 4 } });
        // Timer at 4, 8, 12, 16: a+b changed by 4, c (at 9) by 12; nothing new at 8 and 16. Completion is final.
        expectObservable(source.pipe(op)).toBe('----x-------y----(z|)', {
          x: w('', 0, 10, 2, false),
          y: w('', 0, 10, 3, false),
          z: w('', 0, 10, 3, true),
        });
      }),
    );
  });

  it('clears the earlyFiring timer on early unsubscribe', () => {
    const scheduler = new VirtualTimeScheduler(VirtualAction, 100);
    const source = new Subject<Ev>();
    const out: Array<WindowResult<string, number>> = [];
    const subscription = runInScope(new FakeScope(), () => source.pipe(counting({ earlyFiring: { everyMs: 10, scheduler } })).subscribe((r) => out.push(r)));
    expect(scheduler.actions).toHaveLength(1);
    source.next(e(1));
    scheduler.flush(); // runs the interval up to frame 100
    expect(out).toEqual([w('', 0, 10, 1, false)]);
    subscription.unsubscribe();
    expect(scheduler.actions).toHaveLength(0);
    expect(source.observed).toBe(false);
  });

  it('emits all remaining windows as final on completion, in order', () => {
    runInScope(new FakeScope(), () =>
      newScheduler().run(({ cold, expectObservable }) => {
        const source = cold('abcd|', { a: e(25, 'x'), b: e(5, 'y'), c: e(7, 'x'), d: e(26, 'y') });
        expectObservable(source.pipe(counting({ maxOutOfOrderMs: 100 }))).toBe('----(abcd|)', {
          a: w('x', 0, 10, 1, true), // x was seen first
          b: w('y', 0, 10, 1, true),
          c: w('x', 20, 30, 1, true),
          d: w('y', 20, 30, 1, true),
        });
      }),
    );
  });

  it('handles empty, never, errors, early unsubscribe and downstream take', () => {
    runInScope(new FakeScope(), () =>
      newScheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
        expectObservable(cold<Ev>('|').pipe(counting())).toBe('|');
        expectObservable(cold<Ev>('-').pipe(counting())).toBe('-');
        // An error propagates as is: open windows are not emitted.
        const failing = cold('ab#', { a: e(1), b: e(11) }, new Error('boom'));
        expectObservable(failing.pipe(counting())).toBe('-x#', { x: w('', 0, 10, 1, true) }, new Error('boom'));
        expectSubscriptions(failing.subscriptions).toBe('^-!');

        const source = hot('-a-b-c-d-|', { a: e(1), b: e(11), c: e(21), d: e(31) });
        expectObservable(source.pipe(counting()), '^-!').toBe('--');
        expectObservable(source.pipe(counting(), take(2))).toBe('---x-(y|)', { x: w('', 0, 10, 1, true), y: w('', 10, 20, 1, true) });
        expectSubscriptions(source.subscriptions).toBe(['^-!', '^----!']);
      }),
    );
  });

  it('stops emitting mid-advance when downstream unsubscribes', () => {
    const results: Array<WindowResult<string, number>> = [];
    runInScope(new FakeScope(), () =>
      newScheduler().run(({ cold, expectObservable }) => {
        const source = cold('abcd|', { a: e(1, 'a'), b: e(2, 'b'), c: e(3, 'c'), d: e(50) });
        expectObservable(source.pipe(counting(), take(2))).toBe('---(xy|)', { x: w('a', 0, 10, 1, true), y: w('b', 0, 10, 1, true) });
        source.pipe(counting(), take(1)).subscribe((r) => results.push(r));
      }),
    );
    expect(results).toEqual([w('a', 0, 10, 1, true)]);
  });

  it('dead-letters events with a non-finite event time after the first (at the first: operators/event-time.test.ts)', () => {
    const { out, sides } = drive(counting(), 'w', [step(1), step(Number.NaN)]);
    expect(out).toEqual([w('', 0, 10, 1, true)]);
    expect(sides).toEqual([{ kind: 'dead-letter', stage: 'w', reason: 'invalid event time: NaN', payload: JSON.stringify(e(Number.NaN)) }]);
  });

  it('uses one global window without a key, works standalone with a sideOutput callback', () => {
    const sides: SideOutput[] = [];
    const out: unknown[] = [];
    const source = new Subject<Ev>();
    source.pipe(tumbling({ sizeMs: 10, time: (x: Ev) => x.t, aggregate: sum((x: Ev) => x.v), sideOutput: (o) => sides.push(o) })).subscribe((r) => out.push(r));
    source.next(e(1, 'a', 2));
    source.next(e(2, 'b', 3));
    source.next(e(10, 'a', 1));
    source.next(e(3, 'b', 1));
    source.complete();
    expect(out).toEqual([
      { key: '', start: 0, end: 10, value: 5, count: 2, final: true },
      { key: '', start: 10, end: 20, value: 1, count: 1, final: true },
    ]);
    expect(sides).toEqual([{ kind: 'late', stage: 'tumbling', event: e(3, 'b', 1), eventTime: 3, watermark: 10 }]);
  });

  it('aligns windows for negative times and validates options', () => {
    const { out } = drive(counting(), 'w', [step(-11), step(-1), step(-10)]);
    expect(out).toEqual([w('', -20, -10, 1, true), w('', -10, 0, 2, true)]);
    expect(() => counting({ sizeMs: 0 })).toThrow(/sizeMs/);
    expect(() => counting({ maxOutOfOrderMs: -1 })).toThrow(/maxOutOfOrderMs/);
    expect(() => counting({ earlyFiring: { everyMs: 0 } })).toThrow(/everyMs/);
  });

  it('restores from a snapshot and produces the same output as an uninterrupted run', () => {
    const random = seededRandom(7);
    const rand = (): number => random.float();
    const steps: Array<Step<Ev>> = [];
    for (let i = 0; i < 600; i++) {
      // Mostly increasing time with disorder beyond maxOutOfOrder (late and too-late events), 5 keys.
      steps.push(step(i * 3 - Math.floor(rand() * 100), `k${Math.floor(rand() * 5)}`, Math.floor(rand() * 10)));
      if (i % 7 === 0) steps.push('flush');
    }
    const make = () =>
      tumbling({
        id: 'w',
        sizeMs: 50,
        time: (x: Ev) => x.t,
        key: (x) => x.k,
        aggregate: combine({ n: count<Ev>(), total: sum((x: Ev) => x.v), top: topK((x: Ev) => String(x.v), 2) }),
        maxOutOfOrderMs: 20,
        allowedLatenessMs: 25,
      });
    // Cut anywhere, including right after a flush (clean windows) and at the very ends.
    const afterFlush = steps.flatMap((s, i) => (s === 'flush' && i % 3 === 0 ? [i + 1] : []));
    const cuts = [0, 1, 100, 317, 318, 500, steps.length, ...afterFlush];
    const whole = expectRestoreEquivalence(make, 'w', steps, cuts, (a, b) => expect(a).toEqual(b));
    const sides = whole.sides.filter((s) => s.kind === 'late');
    expect(sides.length).toBeGreaterThan(10);
    expect(whole.out.filter((r) => !r.final).length).toBeGreaterThan(10);
    // Every window's count only grows, and each window ends with exactly one final emission.
    const last = new Map<string, WindowResult<string, { n: number }>>();
    for (const r of whole.out) {
      const id = `${r.key}@${r.start}`;
      const previous = last.get(id);
      expect(previous?.final ?? false).toBe(false);
      expect(r.count).toBeGreaterThanOrEqual(previous?.count ?? 1);
      expect(r.value.n).toBe(r.count);
      last.set(id, r);
    }
    expect([...last.values()].every((r) => r.final)).toBe(true);
  });

  it('snapshots windows by column, and rejects a snapshot from another kind of window', () => {
    // Allowed lateness keeps the fired window [0, 10) until the watermark passes 15.
    const snapshot = drive(counting({ allowedLatenessMs: 5 }), 'w', [step(1), step(12), 'snapshot'], { complete: false }).snapshot as Record<string, unknown>;
    expect(snapshot).toMatchObject({ kind: 'tumbling', maxTime: 12, watermark: 12, keys: [''] });
    expect(column(snapshot.windowCounts, 'uint32')).toEqual([2]);
    // Starts as uint32 distances from a base (state/time-column.ts).
    expect(typeof snapshot.startsFrom).toBe('number');
    expect(column(snapshot.starts, 'uint32').map((d) => d + (snapshot.startsFrom as number))).toEqual([0, 10]);
    // Ends as durations, and counts as uint32s, while they fit (state/number-column.ts).
    expect(column(snapshot.durations, 'uint32')).toEqual([10, 10]);
    expect(snapshot).not.toHaveProperty('ends');
    expect(column(snapshot.counts, 'uint32')).toEqual([1, 1]);
    // The first window fired (emitted, clean), the second is open and changed.
    expect(column(snapshot.flags, 'uint8')).toEqual([2, 1]);
    // count() has columns: its states are one too.
    expect(column(snapshot.accColumns, 'uint32')).toEqual([1, 1]);
    // Starts, ends and counts written as float64s (by earlier builds) restore the same.
    const float64s = (values: number[]): string => Buffer.from(Float64Array.from(values).buffer).toString('base64');
    const { durations: _, startsFrom: _from, ...withoutDurations } = snapshot;
    const earlier = { ...withoutDurations, starts: float64s([0, 10]), ends: float64s([10, 20]), counts: float64s([1, 1]), accColumns: float64s([1, 1]) };
    const further = [step(13), step(30)];
    expect(drive(counting({ allowedLatenessMs: 5 }), 'w', further, { restored: earlier }).out).toEqual(
      drive(counting({ allowedLatenessMs: 5 }), 'w', further, { restored: snapshot }).out,
    );
    const { error: countsOff } = drive(counting(), 'w', [], { restored: { ...snapshot, counts: float64s([1, 1, 1]) } });
    expect(String(countsOff)).toMatch(/counts must have one entry per window: 24 bytes are neither 2 uint32s nor 2 float64s/);
    const { error } = drive(counting(), 'w', [], { restored: { ...snapshot, kind: 'session' } });
    expect(String(error)).toMatch(/cannot restore snapshot/);
    const { error: truncated } = drive(counting(), 'w', [], { restored: { ...snapshot, durations: 'CgAAAA==' } });
    expect(String(truncated)).toMatch(/durations must have one entry per window/);
    const { error: endsOff } = drive(counting(), 'w', [], { restored: { ...earlier, ends: float64s([10]) } });
    expect(String(endsOff)).toMatch(/ends must have one entry per window/);
    const { error: startsOff } = drive(counting(), 'w', [], { restored: { ...snapshot, starts: float64s([0, 10, 20]) } });
    expect(String(startsOff)).toMatch(/starts must have one entry per window/);
    const { error: otherAggregator } = drive(
      tumbling<Ev, string, unknown, unknown>({ id: 'w', sizeMs: 10, time: (x) => x.t, aggregate: topK((x) => x.k, 1) }),
      'w',
      [],
      { restored: snapshot },
    );
    expect(String(otherAggregator)).toMatch(/this aggregator has none/);
  });

  it('writes the ends themselves when a duration would not give one back exactly, and restores them', () => {
    // Fractional sizes: 2.5 is not a whole number of ms.
    const fractional = () => counting({ sizeMs: 2.5 });
    const before = drive(fractional(), 'w', [step(1), step(3), 'snapshot'], { complete: false });
    expect(before.snapshot).not.toHaveProperty('durations');
    expect(column((before.snapshot as { ends: unknown }).ends, 'float64')).toEqual([5]);
    const further = [step(4), step(9)];
    const whole = drive(fractional(), 'w', [step(1), step(3), ...further]).out;
    expect(drive(fractional(), 'w', further, { restored: before.snapshot }).out).toEqual(whole.slice(before.out.length));
  });

  it('keeps states without columns as JSON, one per window', () => {
    const top = () => tumbling<Ev, string, unknown, unknown>({ id: 'w', sizeMs: 10, time: (x) => x.t, aggregate: topK((x) => x.k, 1) });
    const { snapshot } = drive(top(), 'w', [step(1, 'a'), step(2, 'a'), 'snapshot'], { complete: false });
    expect(snapshot).toMatchObject({ accs: [[['a', 2]]] });
    expect(snapshot).not.toHaveProperty('accColumns');
    expect(drive(top(), 'w', [step(3, 'b')], { restored: snapshot }).out.at(-1)).toMatchObject({ value: [{ key: 'a', count: 2 }], count: 3, final: true });
    const { error } = drive(top(), 'w', [], { restored: { ...(snapshot as Record<string, unknown>), accs: [] } });
    expect(String(error)).toMatch(/accs must have one entry per window/);
  });

  it('serializes a snapshot as it was when taken, not as the state is when it is serialized', () => {
    // The runner serializes a snapshot after its cut, while events keep arriving.
    const scope = new FakeScope();
    const source = new Subject<Ev>();
    runInScope(scope, () => source.pipe(counting()).subscribe());
    source.next(e(1));
    const taken = scope.handle('w').snapshot?.();
    const atCut = JSON.stringify(taken);
    source.next(e(2));
    source.next(e(3));
    expect(JSON.stringify(taken)).toBe(atCut);
  });

  it('infers event, key and result types inside pipe() without annotations', () => {
    interface PageEvent {
      readonly user: string;
      readonly page?: string;
      readonly price?: number;
      readonly ts: number;
    }
    const source: Observable<PageEvent> = of();
    const byPage = source.pipe(tumbling({ sizeMs: 10, time: (e) => e.ts, key: (e) => e.page ?? '', aggregate: count() }));
    expectTypeOf(byPage).toEqualTypeOf<Observable<WindowResult<string, number>>>();

    // A shared, pre-typed time extractor (as pipelines spread it) must not pin T to { ts: number }.
    const eventTime = { time: (e: { ts: number }) => e.ts, maxOutOfOrderMs: 5 };
    const global = source.pipe(tumbling({ sizeMs: 10, aggregate: topK((e: PageEvent) => e.page, 3), ...eventTime }));
    expectTypeOf(global).toEqualTypeOf<Observable<WindowResult<string, Array<{ readonly key: string; readonly count: number }>>>>();
  });
});
