import type { z } from 'zod';

/**
 * Versioned events: a pipeline declares its current event schema and older versions of it, each
 * with the function that upcasts one of its events to the current type, so `build` only ever sees
 * current events. A message says its version in a header (docs/contracts.md).
 */

/** The header the publisher helper stamps with the schema version (a decimal integer). */
export const VERSION_HEADER = 'rxa-schema-version';
/** CloudEvents' NATS binding: the attribute naming the schema of the data (a URI), one way to carry the version. */
export const CE_DATASCHEMA_HEADER = 'ce-dataschema';
/** CloudEvents' NATS binding: the event id, which `dedupe` uses when it is given no key. */
export const CE_ID_HEADER = 'ce-id';

/** An older version of an event: its schema, and how one of its events becomes a current one. */
export interface PreviousVersion<E> {
  readonly schema: z.ZodType;
  readonly upcast: (event: never) => E;
}

/**
 * An older version and its upcaster, typed against each other: the upcaster gets the old schema's
 * output and must return the current event type.
 *
 * @example
 * ```ts
 * previous: { 1: upcast(ClickV1, (e) => ({ ...e, session: e.session_hint ?? null })) }
 * ```
 */
export function upcast<S extends z.ZodType, E>(schema: S, upcaster: (event: z.output<S>) => E): PreviousVersion<E> {
  return { schema, upcast: upcaster as (event: never) => E };
}

/** How `validate` tells a message's version and reads each one. */
export interface EventVersions<E> {
  /** The version number of the current schema (the one `validate` is given). */
  readonly current: number;
  /** Older versions by number. */
  readonly previous?: Readonly<Record<number, PreviousVersion<E>>>;
  /** The version of a message that carries no version header. @default the oldest declared */
  readonly unversioned?: number;
  /** The `ce-dataschema` URI of each version; a message whose URI is none of them is dead-lettered. */
  readonly dataschema?: (version: number) => string;
}

/** A header of the message at hand, by name (any case), or undefined. */
export type HeaderReader = (name: string) => string | undefined;

/** The version a message is of, or the reason it cannot be read (a dead letter). */
export function versionOf(
  header: HeaderReader | undefined,
  declared: ReadonlySet<number>,
  byDataschema: ReadonlyMap<string, number>,
  unversioned: number,
): number | string {
  if (header === undefined) return unversioned;
  const stamped = header(VERSION_HEADER);
  if (stamped !== undefined) {
    const version = /^\d{1,9}$/.test(stamped.trim()) ? Number(stamped.trim()) : Number.NaN;
    return declared.has(version) ? version : `version: header ${VERSION_HEADER} '${stamped}' names no declared version (declared: ${[...declared].join(', ')})`;
  }
  const uri = header(CE_DATASCHEMA_HEADER);
  if (uri !== undefined) {
    const version = byDataschema.get(uri);
    if (version !== undefined) return version;
    const known = [...byDataschema.keys()];
    return `version: header ${CE_DATASCHEMA_HEADER} '${uri}' names no declared version${known.length > 0 ? ` (declared: ${known.join(', ')})` : ''}`;
  }
  return unversioned;
}
