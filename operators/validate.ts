import type { OperatorFunction, SchedulerLike } from 'rxjs';
import { asyncScheduler, Observable } from 'rxjs';
import { z } from 'zod';
import { errorMessage } from '../common/error-message.ts';
import { eventTimeError } from '../state/event-time.ts';
import type { SideOutput } from '../state/operator-scope.ts';
import { currentScope, resolveSideOutput } from '../state/operator-scope.ts';
import { type EventVersions, type HeaderReader, versionOf } from './event-versions.ts';
import { type FieldPlan, fieldPlan, findUnknownFields, type UnknownField } from './unknown-fields.ts';

/**
 * What `validate` accepts: raw bytes, a string, or the runner's message envelope
 * (`published` = JetStream publish time, epoch ms, used as the reference clock for the skew check;
 * `header` = the message's headers, by name in any case, where its schema version may be).
 */
export type ValidateInput =
  | Uint8Array
  | string
  | { readonly payload: Uint8Array | string; readonly published?: number; readonly header?: HeaderReader | undefined };

/** What to do with the fields of an event its schema does not declare. */
export type UnknownFields = 'count' | 'reject';

/** Reject events whose event time is too far from the publish time (or from `scheduler.now()`). */
export interface SkewOptions<T> {
  /** Event time of a parsed event, epoch ms. */
  time: (value: T) => number;
  /** How far the event time may be ahead of the reference clock, ms. */
  maxFutureMs: number;
  /** How far the event time may be behind the reference clock, ms. */
  maxPastMs: number;
}

export interface ValidateOptions<T> {
  /**
   * Stage name used in dead letters and to register with the pipeline scope.
   * @default 'validate' (inside a scope: derived by the scope, `validate#n`)
   */
  id?: string;
  /**
   * Largest accepted payload in bytes; larger payloads are dead-lettered before decoding,
   * so one huge message cannot stall the pipeline in `JSON.parse`.
   * @default 1_048_576 (1 MiB)
   */
  maxBytes?: number;
  /** Clock-skew check on the parsed event. @default no check */
  skew?: SkewOptions<T>;
  /** Reference clock for the skew check when an input has no `published` time. @default asyncScheduler */
  scheduler?: SchedulerLike;
  /** Where dead letters go. @default the pipeline scope's side output (required outside a scope) */
  sideOutput?: (output: SideOutput) => void;
  /**
   * Fields the schema does not declare (a producer added one): `count` drops them and counts them
   * per field name (stats `unknown_field:<path>`), `reject` dead-letters the event. The same with
   * or without `.strict()` on the schema.
   * @default 'count'
   */
  unknownFields?: UnknownFields;
  /** Older versions of the event and their upcasters; the version comes from a header. @default one version */
  versions?: EventVersions<T>;
}

interface ResolvedValidateOptions<T> {
  readonly id: string | undefined;
  readonly maxBytes: number;
  readonly skew: SkewOptions<T> | undefined;
  readonly scheduler: SchedulerLike;
  readonly sideOutput: ((output: SideOutput) => void) | undefined;
  readonly unknownFields: UnknownFields;
  readonly versions: EventVersions<T> | undefined;
}

const DEFAULT_MAX_BYTES = 1024 * 1024;
/** Issues listed in a schema dead-letter reason; the rest are summarised as `(+N more)`. */
const MAX_ISSUES = 5;

function parseOptions<T>(options: ValidateOptions<T> = {}): ResolvedValidateOptions<T> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  if (!(maxBytes > 0)) throw new Error(`validate: maxBytes must be > 0, got ${maxBytes}`);
  const skew = options.skew;
  if (skew && !(skew.maxFutureMs >= 0 && skew.maxPastMs >= 0)) {
    throw new Error(`validate: skew.maxFutureMs and skew.maxPastMs must be >= 0`);
  }
  return {
    id: options.id,
    maxBytes,
    skew,
    scheduler: options.scheduler ?? asyncScheduler,
    sideOutput: options.sideOutput,
    unknownFields: options.unknownFields ?? 'count',
    versions: options.versions,
  };
}

/** How one version is read: its compiled parser, its field plan, and its upcaster (older versions). */
interface VersionReader {
  readonly version: number;
  readonly parser: { safeParse: (input: unknown) => z.ZodSafeParseResult<unknown> };
  readonly plan: FieldPlan;
  readonly upcast: ((event: never) => unknown) | undefined;
}

/** The readers of every declared version, the one of unversioned messages, and the `ce-dataschema` URIs. */
function versionReaders(schema: z.ZodType, versions: EventVersions<unknown> | undefined) {
  const current = versions?.current ?? 1;
  const readers = new Map<number, VersionReader>();
  readers.set(current, { version: current, parser: z.compile(schema), plan: fieldPlan(schema), upcast: undefined });
  for (const [key, previous] of Object.entries(versions?.previous ?? {})) {
    const version = Number(key);
    if (!Number.isInteger(version) || version < 1 || version === current) {
      throw new Error(`validate: previous versions must be integers >= 1 other than the current ${current}, got '${key}'`);
    }
    readers.set(version, { version, parser: z.compile(previous.schema), plan: fieldPlan(previous.schema), upcast: previous.upcast });
  }
  const unversioned = versions?.unversioned ?? Math.min(...readers.keys());
  if (!readers.has(unversioned)) throw new Error(`validate: unversioned names version ${unversioned}, which is not declared`);
  const byDataschema = new Map<string, number>();
  if (versions?.dataschema) for (const version of readers.keys()) byDataschema.set(versions.dataschema(version), version);
  return { readers, unversioned, byDataschema, declared: new Set(readers.keys()) };
}

/**
 * Decode, parse and schema-check raw messages. Bad input never errors the stream: it goes to the
 * dead-letter side output with the original payload and a reason (`invalid UTF-8`, `invalid JSON: ...`,
 * `schema: ts: expected number, received string; user_id: required`, `clock skew: ...`,
 * `payload too large: ...`).
 *
 * @example
 * ```ts
 * messages$.pipe(
 *   validate(ClickEvent, { skew: { time: (e) => e.ts, maxFutureMs: 60_000, maxPastMs: 86_400_000 } }),
 * ); // Observable<ClickEvent>
 * ```
 */
export function validate<S extends z.ZodType>(schema: S, options?: ValidateOptions<z.output<S>>): OperatorFunction<ValidateInput, z.output<S>> {
  const opts = parseOptions(options);
  // zod's ahead-of-time compiled parser (falls back to the runtime parser, and its issues, on
  // invalid input): ~0.1-0.3 µs per clickstream event instead of ~2-4 µs, 14% of operator time.
  const { readers, unversioned, byDataschema, declared } = versionReaders(schema, opts.versions as EventVersions<unknown> | undefined);
  const currentReader = readers.get(opts.versions?.current ?? 1)!;
  const unversionedReader = readers.get(unversioned)!;
  const versioned = readers.size > 1;
  const operator = {};
  return (source) =>
    new Observable<z.output<S>>((subscriber) => {
      const scope = currentScope();
      const side = resolveSideOutput('validate', opts.sideOutput, scope);
      let seen = 0;
      let valid = 0;
      let invalid = 0;
      let upcasts = 0;
      /** Fields dropped per path (tolerant reading), or the paths of the event at hand (strict). */
      const unknownCounts = new Map<string, number>();
      const rejected: string[] = [];
      const strict = opts.unknownFields === 'reject';
      const onUnknown = strict
        ? (field: UnknownField): void => void rejected.push(field.path)
        : (field: UnknownField): void => {
            unknownCounts.set(field.path, (unknownCounts.get(field.path) ?? 0) + 1);
            // Dropped from the parsed JSON (ours alone) so a `.strict()` schema reads it too.
            delete field.holder[field.key];
          };
      /** Whether skew.time ran already: its first event is checked strictly. */
      let timed = false;
      const stats = (): Record<string, number> => {
        const out: Record<string, number> = { in: seen, valid, invalid };
        if (upcasts > 0) out.upcast = upcasts;
        for (const [path, n] of unknownCounts) out[`unknown_field:${path}`] = n;
        return out;
      };
      const stage = scope ? scope.register('validate', opts.id, { stats }, operator).id : (opts.id ?? 'validate');
      // One decoder per subscription: `fatal` makes invalid UTF-8 throw instead of inserting U+FFFD.
      const decoder = new TextDecoder('utf-8', { fatal: true });
      const { maxBytes, skew, scheduler } = opts;

      /** The message at hand, whose `header` is a method (the runner's records): read through it, not unbound. */
      let envelope: { readonly header?: HeaderReader | undefined } = {};
      const readHeader: HeaderReader = (name) => envelope.header?.(name);
      const reject = (payload: Uint8Array | string, reason: string): void => {
        invalid++;
        side({ kind: 'dead-letter', stage, reason, payload });
      };

      return source.subscribe({
        next: (input) => {
          seen++;
          let payload: Uint8Array | string;
          let published: number | undefined;
          let header: HeaderReader | undefined;
          if (typeof input === 'string' || input instanceof Uint8Array) {
            payload = input;
          } else {
            payload = input.payload;
            published = input.published;
            if (input.header !== undefined) {
              envelope = input;
              header = readHeader;
            }
          }
          try {
            let text: string;
            if (typeof payload === 'string') {
              // A UTF-8 char is at most 3 bytes per UTF-16 code unit: only measure when it can matter.
              if (payload.length * 3 > maxBytes) {
                const bytes = utf8Length(payload);
                if (bytes > maxBytes) return reject(payload, `payload too large: ${bytes} bytes > ${maxBytes}`);
              }
              text = payload;
            } else {
              if (payload.byteLength > maxBytes) {
                return reject(payload, `payload too large: ${payload.byteLength} bytes > ${maxBytes}`);
              }
              try {
                text = decoder.decode(payload);
              } catch (err) {
                return reject(payload, `invalid UTF-8: ${errorMessage(err)}`);
              }
            }
            let json: unknown;
            try {
              json = JSON.parse(text);
            } catch (err) {
              return reject(payload, `invalid JSON: ${errorMessage(err)}`);
            }
            let reader = unversionedReader;
            // Headers are looked at only where the version can be in one (a message without them costs nothing).
            const version = header === undefined ? unversioned : versionOf(header, declared, byDataschema, unversioned);
            if (typeof version === 'string') return reject(payload, version);
            if (version !== unversioned) reader = readers.get(version)!;
            if (findUnknownFields(reader.plan, json, onUnknown) > 0 && strict) {
              const fields = rejected.splice(0).map((path) => `'${path}'`);
              return reject(payload, `schema: unknown field${fields.length > 1 ? 's' : ''} ${fields.join(', ')}`);
            }
            const result = reader.parser.safeParse(json);
            if (!result.success) return reject(payload, `schema${versioned ? ` (version ${reader.version})` : ''}: ${formatIssues(result.error.issues, json)}`);
            let value = result.data as z.output<S>;
            if (reader.upcast !== undefined) {
              const upcast = upcastEvent(reader, value, currentReader);
              if (typeof upcast === 'string') return reject(payload, upcast);
              value = upcast as z.output<S>;
              upcasts++;
            }
            if (skew) {
              const t = skew.time(value);
              if (!Number.isFinite(t)) {
                // Not a number, or not finite at the first valid event: a definition bug (state/event-time.ts).
                const error = eventTimeError(`${stage} (skew)`, t, !timed);
                if (error) throw error;
              }
              timed = true;
              const reason = checkSkew(t, published, scheduler, skew);
              if (reason !== undefined) return reject(payload, reason);
            }
            valid++;
            subscriber.next(value);
          } catch (err) {
            // Only a bug in a user callback (skew.time, a zod refinement, the side output) gets here.
            subscriber.error(err);
          }
        },
        error: (err: unknown) => subscriber.error(err),
        complete: () => subscriber.complete(),
      });
    });
}

/** A current event from an older version's, or why not: the upcaster threw, or what it returned is not a current event. */
function upcastEvent(reader: VersionReader, event: unknown, current: VersionReader): unknown {
  let upcast: unknown;
  try {
    upcast = reader.upcast!(event as never);
  } catch (error) {
    return `upcast from version ${reader.version} failed: ${errorMessage(error)}`;
  }
  const result = current.parser.safeParse(upcast);
  if (!result.success) {
    return `upcast from version ${reader.version} gives no valid version ${current.version} event: ${formatIssues(result.error.issues, upcast)}`;
  }
  return result.data;
}

function checkSkew(
  eventTime: number,
  published: number | undefined,
  scheduler: SchedulerLike,
  skew: { readonly maxFutureMs: number; readonly maxPastMs: number },
): string | undefined {
  const reference = published ?? scheduler.now();
  const clock = published === undefined ? 'now' : 'publish time';
  if (!Number.isFinite(eventTime)) return `clock skew: event time ${eventTime} is not a finite number`;
  const delta = eventTime - reference;
  if (delta > skew.maxFutureMs) {
    return `clock skew: event time ${eventTime} is ${delta} ms ahead of ${clock} ${reference} (max ${skew.maxFutureMs} ms)`;
  }
  if (-delta > skew.maxPastMs) {
    return `clock skew: event time ${eventTime} is ${-delta} ms behind ${clock} ${reference} (max ${skew.maxPastMs} ms)`;
  }
  return undefined;
}

/** `ts: expected number, received string; user_id: required` */
function formatIssues(issues: readonly z.core.$ZodIssue[], input: unknown): string {
  const parts: string[] = [];
  for (let i = 0; i < issues.length && i < MAX_ISSUES; i++) {
    const issue = issues[i]!;
    const path = formatPath(issue.path);
    let message: string;
    if (issue.code === 'invalid_type' && valueAt(input, issue.path) === undefined) {
      message = 'required';
    } else {
      message = issue.message.replace(/^Invalid (input|option): /, '');
    }
    parts.push(path === '' ? message : `${path}: ${message}`);
  }
  if (issues.length > MAX_ISSUES) parts.push(`(+${issues.length - MAX_ISSUES} more)`);
  return parts.join('; ');
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? String(segment) : `.${String(segment)}`;
  }
  return out;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const segment of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[segment];
  }
  return value;
}

function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}
