/**
 * Aggregators take their element type from the window they sit in: inside `tumbling`, `hopping`
 * and `session` (placed in a `pipe`), `count`, `sum`, `distinct`, `topK`, `min`, `max` and
 * `combine` of them need no parameter types. Type-level tests: they compile or they fail `tsc`.
 */
import { filter, type Observable, of } from 'rxjs';
import { describe, expectTypeOf, it } from 'vitest';
import { combine } from '../aggregators/combine.ts';
import { count } from '../aggregators/count.ts';
import { distinct } from '../aggregators/distinct.ts';
import { max } from '../aggregators/max.ts';
import { min } from '../aggregators/min.ts';
import { sum } from '../aggregators/sum.ts';
import type { TopKEntry } from '../aggregators/top-k.ts';
import { topK } from '../aggregators/top-k.ts';
import type { WindowResult } from '../windows/window-types.ts';
import { hopping } from './hopping.ts';
import { session } from './session.ts';
import { tumbling } from './tumbling.ts';

type View = { type: 'view'; ts: number; user: string; url: string };
type Buy = { type: 'buy'; ts: number; user: string; url: string; price: number; quantity: number };
type Click = View | Buy;

const clicks: Observable<Click> = of();
const time = (e: { ts: number }) => e.ts;

describe('aggregators infer their element type from their window', () => {
  it('tumbling: combine of count, sum, distinct, topK, min, max, and a nested combine', () => {
    const out = clicks.pipe(
      tumbling({
        sizeMs: 60_000,
        time,
        aggregate: combine({
          views: count((e) => e.type === 'view'),
          all: count(),
          revenue: sum((e) => (e.type === 'buy' ? e.price * e.quantity : undefined)),
          users: distinct((e) => e.user),
          top: topK((e) => e.url, 3),
          cheapest: min((e) => (e.type === 'buy' ? e.price : undefined)),
          dearest: max((e) => (e.type === 'buy' ? e.price : undefined)),
          nested: combine({ buyers: distinct((e) => (e.type === 'buy' ? e.user : undefined)) }),
        }),
      }),
    );
    expectTypeOf(out).toEqualTypeOf<
      Observable<
        WindowResult<
          string,
          {
            views: number;
            all: number;
            revenue: number;
            users: number;
            top: TopKEntry[];
            cheapest: number | null;
            dearest: number | null;
            nested: { buyers: number };
          }
        >
      >
    >();
  });

  it('hopping and session, keyed, after a narrowing filter', () => {
    const buys = clicks.pipe(filter((e): e is Buy => e.type === 'buy'));
    const hopped = buys.pipe(
      hopping({
        sizeMs: 300_000,
        slideMs: 60_000,
        time,
        key: (e) => e.url,
        aggregate: combine({ units: sum((e) => e.quantity), users: distinct((e) => e.user) }),
      }),
    );
    expectTypeOf(hopped).toEqualTypeOf<Observable<WindowResult<string, { units: number; users: number }>>>();
    const sessions = clicks.pipe(session({ gapMs: 300_000, time, key: (e) => e.user, aggregate: combine({ views: count((e) => e.type === 'view') }) }));
    expectTypeOf(sessions).toEqualTypeOf<Observable<WindowResult<string, { views: number }>>>();
  });

  it('an accessor reading a field the window’s events lack does not compile', () => {
    clicks.pipe(
      tumbling({
        sizeMs: 60_000,
        time,
        // @ts-expect-error `price` is not a field of every Click (a View has none)
        aggregate: combine({ revenue: sum((e) => e.price) }),
      }),
    );
  });

  it('keys may be tuples or records of strings and numbers, typed as such in the results', () => {
    const tuples = clicks.pipe(tumbling({ sizeMs: 60_000, time, key: (e) => [e.user, e.ts], aggregate: count() }));
    expectTypeOf(tuples).toEqualTypeOf<Observable<WindowResult<[string, number], number>>>();
    const records = clicks.pipe(hopping({ sizeMs: 120_000, slideMs: 60_000, time, key: (e) => ({ user: e.user, url: e.url }), aggregate: count() }));
    expectTypeOf(records).toEqualTypeOf<Observable<WindowResult<{ user: string; url: string }, number>>>();
    const one = clicks.pipe(session({ gapMs: 60_000, time, key: (e) => [e.user], aggregate: count() }));
    expectTypeOf(one).toEqualTypeOf<Observable<WindowResult<[string], number>>>();
    // @ts-expect-error a key part must be a string or a number
    clicks.pipe(tumbling({ sizeMs: 60_000, time, key: (e) => [e.user, { nested: true }], aggregate: count() }));
  });
});
