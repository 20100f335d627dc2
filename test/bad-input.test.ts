/**
 * Bad input never crashes a pipeline and never vanishes: each kind ends in the RXA_DLQ stream with
 * the original payload, the reason and the stage (headers), in rxa_dead_letters, and in the
 * pipeline's counters — while valid input around it is processed normally.
 */
import { DeliverPolicy, type JetStreamManager, type JsMsg, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import { map } from 'rxjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { definePipeline } from '../core/pipeline.ts';
import { type PipelineStatus, runPipeline } from '../core/runner.ts';
import { enrich } from '../operators/enrich.ts';
import { defineTable } from '../sinks/clickhouse/table.ts';
import { DEAD_LETTER_STREAM } from '../sinks/dead-letter.ts';
import { waitFor } from './support/helpers.ts';
import { useTestServers } from './support/test-servers.ts';
import { startClickstream } from './support/watched-runner.ts';

const env = useTestServers('bad');
const { id, database, config } = env;
const encoder = new TextEncoder();
const now = Date.now();

let jsm: JetStreamManager;

beforeAll(async () => {
  jsm = await jetstreamManager(env.nc);
});

const valid = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  event_id: `e-${Math.random().toString(36).slice(2)}`,
  type: 'page_view',
  ts: now - 60_000,
  user_id: 'u-1',
  url: 'https://shop.example.com/',
  referrer: null,
  user_agent: 'Mozilla/5.0',
  country: 'DE',
  ...over,
});
const json = (value: unknown): Uint8Array => encoder.encode(JSON.stringify(value));
const missingUserId = valid();
delete missingUserId.user_id;

/** Each kind: the payload, and what the dead letter's reason must start with. */
const validationCases: Array<{ kind: string; payload: Uint8Array; reason: RegExp; headers?: Record<string, string> }> = [
  { kind: 'invalid JSON', payload: encoder.encode('{"event_id": "x", "type": '), reason: /^invalid JSON: / },
  { kind: 'valid JSON failing the schema', payload: json(valid({ type: 'teleport' })), reason: /^schema: type/ },
  { kind: 'wrong type', payload: json(valid({ ts: '2026-11-23T08:00:00Z' })), reason: /^schema: ts/ },
  { kind: 'missing field', payload: json(missingUserId), reason: /^schema: user_id/ },
  { kind: 'oversized payload', payload: json(valid({ type: 'click', element: 'x'.repeat(40_000) })), reason: /^payload too large: \d+ bytes > 32768/ },
  { kind: 'timestamp far in the future', payload: json(valid({ ts: now + 2 * 86_400_000 })), reason: /^clock skew: .*ahead/ },
  { kind: 'timestamp far in the past', payload: json(valid({ ts: now - 30 * 86_400_000 })), reason: /^clock skew: .*behind/ },
  {
    kind: 'a version header naming no declared version',
    payload: json(valid()),
    headers: { 'rxa-schema-version': '9' },
    reason: /^version: header rxa-schema-version '9' names no declared version \(declared: 1\)$/,
  },
  {
    kind: 'non-UTF-8 bytes',
    payload: new Uint8Array([...encoder.encode('{"event_id": "'), 0xc3, 0x28, 0xff, ...encoder.encode('"}')]),
    reason: /^invalid UTF-8/,
  },
];

describe('bad input in the clickstream pipeline', () => {
  const { names } = env; // bad_<id>: its stream and dead letters are the fixture's to drop
  const seqs = new Map<string, number>();
  let status: PipelineStatus | undefined;
  const unicode = valid({ type: 'click', element: 'buy 🛒👩‍👩‍👧 é (e\u0301) مرحبا \u200f x', url: 'https://shop.example.com/search?q=caf%C3%A9' });
  const added = valid({ session_hint: 's-42' });

  beforeAll(async () => {
    await jsm.streams.add({ name: names.stream, subjects: [`${names.subjectPrefix}.>`] });
    const js = jetstream(env.nc);
    for (const c of validationCases) {
      const h = headers();
      for (const [name, value] of Object.entries(c.headers ?? {})) h.set(name, value);
      seqs.set(c.kind, (await js.publish(`${names.subjectPrefix}.0`, c.payload, { headers: h })).seq);
    }
    await js.publish(`${names.subjectPrefix}.0`, json(unicode));
    // A producer that added a field: read tolerantly, the field dropped and counted.
    await js.publish(`${names.subjectPrefix}.0`, json(added));
    const last = (await js.publish(`${names.subjectPrefix}.0`, json(valid()))).seq;
    const runner = startClickstream(names, { flushIntervalMs: 100, checkpointIntervalMs: 200 }, config);
    await waitFor(() => (runner.status()?.ackedSeq ?? 0) >= last, 30_000, 'the pipeline to process every message');
    status = await runner.stop();
  }, 60_000);

  for (const c of validationCases) {
    it(`dead-letters ${c.kind} with the original payload, reason and stage`, async () => {
      const letters = await deadLetters(names.name);
      const letter = letters.find((m) => m.headers?.get('Rxa-Source-Seq') === String(seqs.get(c.kind)));
      expect(letter, `no dead letter for ${c.kind}`).toBeDefined();
      expect(letter!.headers!.get('Rxa-Stage')).toBe('validate');
      expect(letter!.headers!.get('Rxa-Reason')).toMatch(c.reason);
      expect(letter!.headers!.get('Rxa-Source-Stream')).toBe(names.stream);
      expect(Buffer.from(letter!.data).equals(Buffer.from(c.payload))).toBe(true);
      const [row] = await query<{ reason: string; payload_encoding: string }>(
        `SELECT reason, payload_encoding FROM rxa_dead_letters FINAL WHERE pipeline = '${names.name}' AND source_seq = ${seqs.get(c.kind)}`,
      );
      expect(row?.reason).toMatch(c.reason);
      expect(row?.payload_encoding).toBe(c.kind === 'non-UTF-8 bytes' ? 'base64' : 'utf-8');
    });
  }

  it('counts every dead letter and keeps valid events, unicode edge cases intact, an added field counted', async () => {
    expect(status?.deadLetters).toBe(validationCases.length);
    expect(status?.operators['validate.invalid']).toBe(validationCases.length);
    expect(status?.operators['validate.unknown_field:session_hint']).toBe(1);
    const [row] = await query<{ element: string; url: string }>(`SELECT url FROM clickstream_events FINAL WHERE event_id = '${unicode.event_id as string}'`);
    expect(row?.url).toBe(unicode.url);
    const [{ n } = { n: 0 }] = await query<{ n: number }>('SELECT count() AS n FROM clickstream_events FINAL');
    expect(n).toBe(3);
    const [kept] = await query<{ event_id: string }>(`SELECT event_id FROM clickstream_events FINAL WHERE event_id = '${added.event_id as string}'`);
    expect(kept?.event_id).toBe(added.event_id);
  });
});

describe('bad input after validation: enrichment failures and rows ClickHouse rejects', () => {
  const name = `codes_${id}`;
  const stream = `CODES_${id}`;
  env.alsoDrop({ streams: [stream], deadLetterPipelines: [name] });
  const Code = z.object({ id: z.string(), key: z.string(), code: z.string() });
  const codes = defineTable('codes', { columns: { id: 'String', key: 'String', label: 'String', code: 'String' }, orderBy: ['id'] });
  const pipeline = definePipeline({
    name,
    source: { stream, subjects: [`${name}.>`] },
    schema: Code,
    tables: { codes },
    settings: { flushIntervalMs: 100, checkpointIntervalMs: 200 },
    build: (events) => ({
      codes: events.pipe(
        enrich({
          id: 'labels',
          key: (e) => e.key,
          // A reference lookup that fails for one key and hangs for another, on every attempt.
          lookup: (key: string) =>
            key === 'broken'
              ? Promise.reject(new Error('reference service said 500'))
              : key === 'hang'
                ? new Promise<string>(() => {})
                : Promise.resolve(`label:${key}`),
          merge: (e, label) => ({ ...e, label }),
          timeoutMs: 300,
        }),
        map((e) => ({ id: e.id, key: e.key, label: e.label, code: e.code })),
      ),
    }),
  });
  let status: PipelineStatus | undefined;
  const seqs = new Map<string, number>();

  beforeAll(async () => {
    // Schema drift: someone changed `code` to a number in ClickHouse; non-numeric codes are rejected.
    await env.ch.command({ query: `CREATE DATABASE IF NOT EXISTS ${database}` });
    await env.ch.command({
      query: `CREATE TABLE ${database}.codes (rxa_partition UInt16, id String, key String, label String, code UInt32) ENGINE = ReplacingMergeTree() ORDER BY (rxa_partition, id)`,
    });
    await jsm.streams.add({ name: stream, subjects: [`${name}.>`] });
    const js = jetstream(env.nc);
    const publish = async (kind: string, body: Record<string, string>): Promise<number> => {
      const seq = (await js.publish(`${name}.in`, JSON.stringify(body))).seq;
      seqs.set(kind, seq);
      return seq;
    };
    await publish('ok', { id: '1', key: 'a', code: '42' });
    await publish('throws', { id: '2', key: 'broken', code: '7' });
    await publish('times out', { id: '3', key: 'hang', code: '8' });
    await publish('rejected', { id: '4', key: 'b', code: 'not-a-number' });
    const last = await publish('ok too', { id: '5', key: 'c', code: '43' });
    const controller = new AbortController();
    const run = runPipeline(pipeline, { config, signal: controller.signal, statusIntervalMs: 100, onStatus: (s) => (status = s) });
    await waitFor(() => (status?.ackedSeq ?? 0) >= last, 30_000, 'the pipeline to process every message');
    controller.abort();
    status = await run;
  }, 60_000);

  it('dead-letters a lookup that throws, with the event and the reason', async () => {
    const letter = (await deadLetters(name)).find((m) => m.headers?.get('Rxa-Source-Seq') === String(seqs.get('throws')));
    expect(letter?.headers?.get('Rxa-Stage')).toBe('labels');
    expect(letter?.headers?.get('Rxa-Reason')).toBe('lookup failed: reference service said 500 (3 attempts)');
    expect(JSON.parse(new TextDecoder().decode(letter!.data))).toEqual({ id: '2', key: 'broken', code: '7' });
  });

  it('dead-letters a lookup that times out', async () => {
    const letter = (await deadLetters(name)).find((m) => m.headers?.get('Rxa-Source-Seq') === String(seqs.get('times out')));
    expect(letter?.headers?.get('Rxa-Stage')).toBe('labels');
    expect(letter?.headers?.get('Rxa-Reason')).toBe('lookup timed out after 300 ms (3 attempts)');
  });

  it('dead-letters a row ClickHouse rejects, and writes the rows around it', async () => {
    const letter = (await deadLetters(name)).find((m) => m.headers?.get('Rxa-Stage') === 'clickhouse:codes');
    expect(letter, 'no dead letter for the rejected row').toBeDefined();
    expect(letter!.headers!.get('Rxa-Reason')).toMatch(/not-a-number|parse|Cannot/i);
    expect(JSON.parse(new TextDecoder().decode(letter!.data))).toMatchObject({ id: '4', code: 'not-a-number' });
    const rows = await query<{ id: string; code: number }>('SELECT id, code FROM codes FINAL ORDER BY id');
    expect(rows).toEqual([
      { id: '1', code: 42 },
      { id: '5', code: 43 },
    ]);
    expect(status?.deadLetters).toBe(3);
  });
});

async function deadLetters(pipeline: string): Promise<JsMsg[]> {
  const consumer = await jetstream(env.nc).consumers.get(DEAD_LETTER_STREAM, { filter_subjects: `rxa.dlq.${pipeline}.>`, deliver_policy: DeliverPolicy.All });
  const out: JsMsg[] = [];
  const info = await jsm.streams.info(DEAD_LETTER_STREAM, { subjects_filter: `rxa.dlq.${pipeline}.>` });
  const total = Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
  while (out.length < total) {
    const msg = await consumer.next({ expires: 2_000 });
    if (!msg) break;
    out.push(msg);
  }
  await consumer.delete().catch(() => {});
  return out;
}

async function query<T>(sql: string): Promise<T[]> {
  return (await env.chDb.query({ query: sql, format: 'JSONEachRow', clickhouse_settings: { output_format_json_quote_64bit_integers: 0 } })).json<T>();
}
