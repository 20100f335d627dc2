import type { Observable } from 'rxjs';
import { from, of, take } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import type { SideOutput } from '../state/operator-scope.ts';
import { runInScope } from '../state/operator-scope.ts';
import { FakeScope } from '../test/support/operator-harness.ts';
import type { ValidateInput } from './validate.ts';
import { validate } from './validate.ts';

const Event = z.object({ ts: z.number(), user_id: z.string() }).strict();
type Event = z.infer<typeof Event>;

const bytes = (s: string) => new TextEncoder().encode(s);
const json = (v: unknown) => JSON.stringify(v);

function newScheduler() {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
}

describe('validate', () => {
  it('decodes bytes, strings and envelopes and emits parsed values', () => {
    const scope = new FakeScope();
    runInScope(scope, () =>
      newScheduler().run(({ cold, expectObservable }) => {
        const a = { ts: 1, user_id: 'u1' };
        const b = { ts: 2, user_id: 'u2' };
        const c = { ts: 3, user_id: 'u3' };
        const source = cold<ValidateInput>('-a-b-c-|', {
          a: bytes(json(a)),
          b: json(b),
          c: { payload: bytes(json(c)), published: 3 },
        });
        expectObservable(source.pipe(validate(Event))).toBe('-a-b-c-|', { a, b, c });
      }),
    );
    expect(scope.sides).toEqual([]);
    expect(scope.handle('validate#0').stats?.()).toEqual({ in: 3, valid: 3, invalid: 0 });
  });

  it('dead-letters invalid UTF-8, invalid JSON and schema failures with the original payload', () => {
    const scope = new FakeScope();
    const badUtf8 = new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]);
    const badJson = bytes('{"ts": 1,');
    const badSchema = json({ ts: 'x' });
    const good = { ts: 5, user_id: 'u' };
    runInScope(scope, () =>
      newScheduler().run(({ cold, expectObservable }) => {
        const source = cold<ValidateInput>('-a-b-c-d-|', {
          a: badUtf8,
          b: { payload: badJson },
          c: badSchema,
          d: json(good),
        });
        expectObservable(source.pipe(validate(Event, { id: 'parse' }))).toBe('-------d-|', { d: good });
      }),
    );
    const outputs = scope.outputs();
    expect(outputs).toHaveLength(3);
    expect(outputs[0]).toMatchObject({ kind: 'dead-letter', stage: 'parse', payload: badUtf8 });
    expect(outputs[0]).toHaveProperty('reason', expect.stringMatching(/^invalid UTF-8/));
    expect(outputs[1]).toMatchObject({ kind: 'dead-letter', stage: 'parse', payload: badJson });
    expect(outputs[1]).toHaveProperty('reason', expect.stringMatching(/^invalid JSON: /));
    expect(outputs[2]).toEqual({
      kind: 'dead-letter',
      stage: 'parse',
      reason: 'schema: ts: expected number, received string; user_id: required',
      payload: badSchema,
    });
    expect(scope.handle('parse').stats?.()).toEqual({ in: 4, valid: 1, invalid: 3 });
  });

  it('formats nested paths, unknown keys and truncates long issue lists', () => {
    const sides: SideOutput[] = [];
    const Nested = z.object({ a: z.object({ b: z.array(z.number()) }), k: z.enum(['x', 'y']) }).strict();
    of(json({ a: { b: [1, 'two'] }, k: 'z', extra: 1 }))
      .pipe(validate(Nested, { sideOutput: (o) => sides.push(o) }))
      .subscribe();
    // Read tolerantly (the default), the unknown key is dropped before the schema sees it, even a strict one.
    expect(sides[0]).toMatchObject({ reason: 'schema: a.b[1]: expected number, received string; k: expected one of "x"|"y"' });

    const Many = z.object({ a: z.string(), b: z.string(), c: z.string(), d: z.string(), e: z.string(), f: z.string(), g: z.string() });
    of('{}')
      .pipe(validate(Many, { sideOutput: (o) => sides.push(o) }))
      .subscribe();
    expect(sides[1]).toMatchObject({
      reason: 'schema: a: required; b: required; c: required; d: required; e: required; (+2 more)',
    });
    const strict: SideOutput[] = [];
    of(json({ a: { b: [1], c: 2 }, k: 'x', extra: 1 }))
      .pipe(validate(Nested, { unknownFields: 'reject', sideOutput: (o) => strict.push(o) }))
      .subscribe();
    expect(strict).toMatchObject([{ reason: "schema: unknown fields 'a.c', 'extra'" }]);

    of('null')
      .pipe(validate(z.number(), { sideOutput: (o) => sides.push(o) }))
      .subscribe();
    expect(sides[2]).toMatchObject({ reason: 'schema: expected number, received null' });
  });

  it('rejects payloads larger than maxBytes before decoding (bytes and strings, counted in UTF-8)', () => {
    const sides: SideOutput[] = [];
    const values: unknown[] = [];
    const big = bytes(json({ ts: 1, user_id: 'x'.repeat(100) }));
    const euro = json({ ts: 1, user_id: '€€€€€€€€€€€€€€€€€€€€' }); // 20 * 3 bytes in UTF-8
    const inputs: ValidateInput[] = [big, euro, json({ ts: 2, user_id: 'ok' })];
    from(inputs)
      .pipe(validate(Event, { maxBytes: 64, sideOutput: (o) => sides.push(o) }))
      .subscribe((v) => values.push(v));
    expect(values).toEqual([{ ts: 2, user_id: 'ok' }]);
    expect(sides).toEqual([
      { kind: 'dead-letter', stage: 'validate', reason: `payload too large: ${big.byteLength} bytes > 64`, payload: big },
      { kind: 'dead-letter', stage: 'validate', reason: `payload too large: ${euro.length + 40} bytes > 64`, payload: euro },
    ]);
  });

  it('checks clock skew against the publish time, or scheduler.now() without one', () => {
    const scope = new FakeScope();
    const skew = { time: (e: Event) => e.ts, maxFutureMs: 10, maxPastMs: 100 };
    const ahead = { payload: json({ ts: 1_011, user_id: 'a' }), published: 1_000 };
    const behind = { payload: json({ ts: 899, user_id: 'b' }), published: 1_000 };
    const edge = { payload: json({ ts: 1_010, user_id: 'c' }), published: 1_000 };
    // Without a publish time the reference is scheduler.now(), i.e. the virtual frame.
    const viaNow = json({ ts: 50, user_id: 'd' }); // frame 3: 47 ms ahead
    const viaNowEdge = json({ ts: 14, user_id: 'e' }); // frame 4: exactly 10 ms ahead is allowed
    const viaNowBad = json({ ts: 18, user_id: 'f' }); // frame 5: 13 ms ahead
    runInScope(scope, () => {
      const testScheduler = newScheduler();
      testScheduler.run(({ cold, expectObservable }) => {
        const source = cold<ValidateInput>('abcdef|', {
          a: ahead,
          b: behind,
          c: edge,
          d: viaNow,
          e: viaNowEdge,
          f: viaNowBad,
        });
        expectObservable(source.pipe(validate(Event, { skew, scheduler: testScheduler }))).toBe('--c-e-|', {
          c: { ts: 1_010, user_id: 'c' },
          e: { ts: 14, user_id: 'e' },
        });
      });
    });
    expect(scope.outputs().map((o) => (o.kind === 'dead-letter' ? o.reason : o.kind))).toEqual([
      'clock skew: event time 1011 is 11 ms ahead of publish time 1000 (max 10 ms)',
      'clock skew: event time 899 is 101 ms behind publish time 1000 (max 100 ms)',
      'clock skew: event time 50 is 47 ms ahead of now 3 (max 10 ms)',
      'clock skew: event time 18 is 13 ms ahead of now 5 (max 10 ms)',
    ]);
  });

  it('handles empty, never and errors', () => {
    const scope = new FakeScope();
    runInScope(scope, () =>
      newScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
        const empty = cold<ValidateInput>('|');
        const never = cold<ValidateInput>('-');
        const failing = cold<ValidateInput>('-a-#', { a: json({ ts: 1, user_id: 'u' }) }, new Error('boom'));
        expectObservable(empty.pipe(validate(Event))).toBe('|');
        expectObservable(never.pipe(validate(Event))).toBe('-');
        expectObservable(failing.pipe(validate(Event))).toBe('-a-#', { a: { ts: 1, user_id: 'u' } }, new Error('boom'));
        expectSubscriptions(failing.subscriptions).toBe('^--!');
      }),
    );
  });

  it('supports early unsubscribe and a downstream take', () => {
    const scope = new FakeScope();
    runInScope(scope, () =>
      newScheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
        const v = (n: number) => json({ ts: n, user_id: 'u' });
        const source = hot<ValidateInput>('-a-b-c-d-|', { a: v(1), b: v(2), c: v(3), d: v(4) });
        expectObservable(source.pipe(validate(Event)), '^--!').toBe('-a--', { a: { ts: 1, user_id: 'u' } });
        expectObservable(source.pipe(validate(Event), take(2))).toBe('-a-(b|)', {
          a: { ts: 1, user_id: 'u' },
          b: { ts: 2, user_id: 'u' },
        });
        expectSubscriptions(source.subscriptions).toBe(['^--!', '^--!']);
      }),
    );
  });

  it('requires a side output outside a scope', () => {
    let error: unknown;
    of('x')
      .pipe(validate(Event))
      .subscribe({ error: (e: unknown) => (error = e) });
    expect(error).toBeInstanceOf(Error);
    expect(String(error)).toMatch(/no side output/);
  });

  it('propagates errors thrown by user callbacks instead of dropping input', () => {
    let error: unknown;
    const skew = {
      time: (): number => {
        throw new Error('bad extractor');
      },
      maxFutureMs: 0,
      maxPastMs: 0,
    };
    of(json({ ts: 1, user_id: 'u' }))
      .pipe(validate(Event, { skew, sideOutput: () => undefined }))
      .subscribe({ error: (e: unknown) => (error = e) });
    expect(error).toEqual(new Error('bad extractor'));
  });

  it('the compiled parser leaves outputs, dead-letter reasons and stats unchanged (strict, strip and nested schemas, read strictly)', () => {
    const shape = { ts: z.number().int().positive(), user_id: z.string().min(1).max(4), tags: z.array(z.string()).optional() };
    const Strict = z.object(shape).strict();
    const Strip = z.object(shape);
    const Nested = z.discriminatedUnion('kind', [
      z.object({ kind: z.literal('a'), at: Strict }).strict(),
      z.object({ kind: z.literal('b'), n: z.number().nullable() }).strict(),
    ]);
    const inputs: ValidateInput[] = [
      json({ ts: 1, user_id: 'u' }),
      bytes(json({ user_id: 'u\u{1F600}', ts: 2, tags: ['x'] })),
      { payload: json({ ts: 3, user_id: 'uuuu' }), published: 3 },
      json({ ts: 4, user_id: 'u', extra: true }),
      '{"ts":5,"user_id":"u","__proto__":{"x":1}}',
      json({ ts: 1.5, user_id: 'u' }),
      json({ ts: 2 ** 53, user_id: 'u' }),
      '{"ts":-0,"user_id":"u"}',
      json({ ts: 6, user_id: '' }),
      json({ ts: 7, user_id: 'uuuuu' }),
      json({ ts: 8 }),
      json({ ts: 9, user_id: 'u', tags: 'x' }),
      json({ kind: 'a', at: { ts: 10, user_id: 'u' } }),
      json({ kind: 'a', at: { ts: 11, user_id: 'u', extra: 1 } }),
      json({ kind: 'b', n: null }),
      json({ kind: 'c' }),
      'null',
      '[]',
      '"x"',
    ];
    // Unknown fields rejected where zod rejects them (strict objects), dropped where it strips them.
    const run = (schema: z.ZodType) => {
      const scope = new FakeScope();
      const values: unknown[] = [];
      runInScope(scope, () =>
        from(inputs)
          .pipe(validate(schema, { unknownFields: schema === Strip ? 'count' : 'reject' }))
          .subscribe((v) => values.push(v)),
      );
      return { values, sides: scope.outputs(), stats: scope.handle('validate#0').stats?.() };
    };
    const text = (input: ValidateInput): string => {
      const payload = typeof input === 'string' || input instanceof Uint8Array ? input : input.payload;
      return typeof payload === 'string' ? payload : new TextDecoder().decode(payload);
    };
    for (const schema of [Strict, Strip, Nested] as z.ZodType[]) {
      const { values, sides, stats } = run(schema);
      // What zod's runtime parser (the schema itself, not compiled) makes of the same inputs.
      const parsed = inputs.map((input) => schema.safeParse(JSON.parse(text(input))));
      expect(values).toEqual(parsed.filter((r) => r.success).map((r) => r.data));
      expect(sides).toHaveLength(parsed.filter((r) => !r.success).length);
      expect(stats).toMatchObject({ in: inputs.length, valid: values.length, invalid: sides.length });
      expect(values.length).toBeGreaterThan(0);
    }
    // With a strip schema the output is zod's copy without the unknown key.
    const stripped = run(Strip).values;
    expect(stripped[3]).toStrictEqual({ ts: 4, user_id: 'u' });
    expect(Object.keys(stripped[4] as object)).toEqual(['ts', 'user_id']);
    expect(run(Strict).sides.map((o) => (o.kind === 'dead-letter' ? o.reason : o.kind))).toMatchInlineSnapshot(`
      [
        "schema: unknown field 'extra'",
        "schema: unknown field '__proto__'",
        "schema: ts: expected int, received number",
        "schema: ts: Too big: expected int to be <=9007199254740991",
        "schema: ts: Too small: expected number to be >0",
        "schema: user_id: Too small: expected string to have >=1 characters",
        "schema: user_id: Too big: expected string to have <=4 characters",
        "schema: user_id: required",
        "schema: tags: expected array, received string",
        "schema: unknown fields 'kind', 'at'",
        "schema: unknown fields 'kind', 'at'",
        "schema: unknown fields 'kind', 'n'",
        "schema: unknown field 'kind'",
        "schema: expected object, received null",
        "schema: expected object, received array",
        "schema: expected object, received string",
      ]
    `);
  });

  it('infers the output type from the schema', () => {
    const out = from<ValidateInput[]>(['{}']).pipe(validate(Event, { sideOutput: () => undefined }));
    expectTypeOf(out).toEqualTypeOf<Observable<Event>>();
  });
});
