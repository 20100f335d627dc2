/**
 * `validate` alone on the clickstream's messages, in memory: ns per message for decoding, parsing,
 * the schema and the unknown-field walk (tolerant reading). For measuring changes to validate:
 *
 *   npx tsx scripts/bench-validate.ts --events 200000 --rounds 7
 *
 * Prints the median and the best round; `--extra-field` adds a field the schema does not know to
 * every message (each is dropped and counted); `--envelope` passes messages as the runner does, with
 * a header reader (no headers), so the version is looked for.
 */
import { Command } from 'commander';
import { Subject } from 'rxjs';
import { bulkWorkload } from '../bench/workload.ts';
import { positiveInt } from '../cli/int-options.ts';
import { type ValidateInput, validate } from '../operators/validate.ts';
import { ClickEvent } from '../pipelines/clickstream-events.ts';

const opts = new Command()
  .name('bench-validate')
  .option('--events <n>', 'messages per round', positiveInt, 200_000)
  .option('--rounds <n>', 'timed rounds (after one warm-up round)', positiveInt, 7)
  .option('--extra-field', 'add `session_hint` to every message')
  .option('--envelope', "pass { payload, published, header } as the runner's records")
  .parse()
  .opts<{ events: number; rounds: number; extraField?: boolean; envelope?: boolean }>();

const encoder = new TextEncoder();
const payloads: Uint8Array[] = [];
for (const m of bulkWorkload(opts.events, 7)) {
  if (!('event' in m)) continue;
  payloads.push(opts.extraField ? encoder.encode(JSON.stringify({ ...m.event, session_hint: 's-1' })) : m.payload);
  if (payloads.length === opts.events) break;
}

let sink = 0;
const input = new Subject<ValidateInput>();
const noHeaders = (): string | undefined => undefined;
const inputs: ValidateInput[] = opts.envelope ? payloads.map((payload) => ({ payload, published: Date.now(), header: noHeaders })) : payloads;
input.pipe(validate(ClickEvent, { sideOutput: () => sink++ })).subscribe(() => sink++);

const perMessageNs: number[] = [];
for (let round = 0; round <= opts.rounds; round++) {
  const started = process.hrtime.bigint();
  for (const message of inputs) input.next(message);
  const ns = Number(process.hrtime.bigint() - started) / payloads.length;
  if (round > 0) perMessageNs.push(ns);
}
perMessageNs.sort((a, b) => a - b);
console.log(
  JSON.stringify({
    messages: payloads.length,
    extraField: opts.extraField ?? false,
    envelope: opts.envelope ?? false,
    medianNs: Math.round(perMessageNs[Math.floor(perMessageNs.length / 2)]!),
    bestNs: Math.round(perMessageNs[0]!),
    sink,
  }),
);
