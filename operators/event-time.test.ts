/**
 * An event-time accessor that returns something other than epoch milliseconds (state/event-time.ts):
 * not a number, at any event, or not finite at the first event, fails the operator naming its id
 * and the value; a non-finite number at a later event is data, dead-lettered as before.
 */
import type { OperatorFunction } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { count } from '../aggregators/count.ts';
import { drive } from '../test/support/operator-harness.ts';
import { dedupe } from './dedupe.ts';
import { hopping } from './hopping.ts';
import { session } from './session.ts';
import { tumbling } from './tumbling.ts';
import { validate } from './validate.ts';

interface Ev {
  readonly id: string;
  readonly ts: unknown;
}

const time = (e: Ev): number => e.ts as number;
const operators: Array<[string, OperatorFunction<Ev, unknown>]> = [
  ['tumbling', tumbling<Ev, string, number, number>({ id: 'per-minute', sizeMs: 60_000, time, key: (e) => e.id, aggregate: count() })],
  ['hopping', hopping<Ev, string, number, number>({ id: 'per-minute', sizeMs: 60_000, slideMs: 30_000, time, key: (e) => e.id, aggregate: count() })],
  ['session', session<Ev, string, number, number>({ id: 'per-minute', gapMs: 60_000, time, key: (e) => e.id, aggregate: count() })],
  ['dedupe', dedupe<Ev>({ id: 'per-minute', key: (e) => e.id, time, ttlMs: 60_000 })],
];

describe.each(operators)('%s with an event-time accessor that does not return epoch milliseconds', (_, operator) => {
  it('fails at the first event on NaN, naming the operator and the value', () => {
    const { error, sides } = drive(operator, 'per-minute', [{ event: { id: 'a', ts: Number.NaN } }]);
    expect(String(error)).toBe(
      'EventTimeError: operator per-minute: its time accessor returned NaN for the first event, not epoch milliseconds; ' +
        'check the accessor (a field that is not there, Date.parse of a format it does not read), or reject such events in the schema',
    );
    expect(sides).toEqual([]);
  });

  it('fails on a string at any event', () => {
    const { error } = drive(operator, 'per-minute', [{ event: { id: 'a', ts: 1_000 } }, { event: { id: 'b', ts: '2026-12-06T04:00:00Z' } }]);
    expect(String(error)).toBe(
      "EventTimeError: operator per-minute: its time accessor returned a string '2026-12-06T04:00:00Z', not epoch milliseconds (a number)",
    );
  });

  it('fails on undefined (a field that is not there)', () => {
    const { error } = drive(operator, 'per-minute', [{ event: { id: 'a', ts: undefined } }]);
    expect(String(error)).toMatch(/operator per-minute: its time accessor returned undefined, not epoch milliseconds/);
  });

  it('takes NaN after the first event as data: no failure', () => {
    const { error } = drive(operator, 'per-minute', [{ event: { id: 'a', ts: 1_000 } }, { event: { id: 'b', ts: Number.NaN } }]);
    expect(error).toBeUndefined();
  });
});

describe("validation's skew check with an event-time accessor that does not return epoch milliseconds", () => {
  const Event = z.object({ id: z.string(), ts: z.string() });
  const check = validate(Event, { id: 'validate', skew: { time: (e) => e.ts as unknown as number, maxFutureMs: 60_000, maxPastMs: 60_000 } });

  it('fails at the first valid event, naming the operator and the value', () => {
    const payload = JSON.stringify({ id: 'a', ts: 'abc' });
    const { error, sides } = drive(check, 'validate', [{ event: { payload, published: 1_000 } }]);
    expect(String(error)).toBe("EventTimeError: operator validate (skew): its time accessor returned a string 'abc', not epoch milliseconds (a number)");
    expect(sides).toEqual([]);
  });

  it('still dead-letters a non-finite time after the first event', () => {
    const numeric = validate(z.object({ id: z.string(), ts: z.number() }), {
      id: 'validate',
      skew: { time: (e) => (e.ts === 0 ? Number.NaN : e.ts), maxFutureMs: 60_000, maxPastMs: 60_000 },
    });
    const events = [
      { id: 'a', ts: 1_000 },
      { id: 'b', ts: 0 },
    ].map((e) => ({ event: { payload: JSON.stringify(e), published: 1_000 } }));
    const { error, out, sides } = drive(numeric, 'validate', events);
    expect(error).toBeUndefined();
    expect(out).toHaveLength(1);
    expect(sides).toMatchObject([{ kind: 'dead-letter', stage: 'validate', reason: 'clock skew: event time NaN is not a finite number' }]);
  });
});
