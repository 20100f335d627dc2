import type { ClickHouseClient } from '@clickhouse/client';
import { errorMessage } from '../common/error-message.ts';
import { expandMacros, type TimeRange } from '../dashboards/macros.ts';
import { parseJsonCompact, type QueryColumn } from '../dashboards/run-panel-queries.ts';

/**
 * Runs one panel's SQL for the live page, macros expanded exactly as Grafana's ClickHouse plugin
 * expands them, and returns the result ready for a browser: numbers as numbers (ClickHouse quotes
 * 64-bit integers in JSON) and DateTime values as epoch milliseconds (ClickHouse prints them in the
 * server's or the column's time zone, which the browser cannot know).
 */

export interface PanelData {
  columns: QueryColumn[];
  rows: unknown[][];
}

/** A failed panel query: ClickHouse's message, and whether ClickHouse could be reached at all. */
export class PanelQueryError extends Error {
  readonly unreachable: boolean;
  constructor(message: string, unreachable: boolean, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PanelQueryError';
    this.unreachable = unreachable;
  }
}

const NUMERIC = /^(?:Nullable\()?(?:U?Int\d+|Float\d+|Decimal.*)\)?$/;
const DATE_TIME = /^(?:Nullable\()?DateTime(?:\('([^']+)'\))?\)?$/;
const UNREACHABLE = /ECONNREFUSED|ECONNRESET|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|socket hang up|Timeout error/i;

/** Per client: the server's time zone, asked once (again after a failure). */
const serverTimeZones = new WeakMap<ClickHouseClient, Promise<string>>();

export async function queryPanel(client: ClickHouseClient, sql: string, range: TimeRange): Promise<PanelData> {
  const expanded = expandMacros(sql, range);
  try {
    const timeZone = await serverTimeZone(client);
    const response = await client.query({ query: expanded, format: 'JSONCompact' });
    return normalize(parseJsonCompact(await response.json()), timeZone);
  } catch (error) {
    const message = errorMessage(error);
    throw new PanelQueryError(message, UNREACHABLE.test(message) || hasUnreachableCode(error), { cause: error });
  }
}

function serverTimeZone(client: ClickHouseClient): Promise<string> {
  let zone = serverTimeZones.get(client);
  if (!zone) {
    zone = client
      .query({ query: 'SELECT timezone() AS tz', format: 'JSONCompact' })
      .then(async (r) => String(parseJsonCompact(await r.json()).rows[0]?.[0] ?? 'UTC'));
    zone.catch(() => serverTimeZones.delete(client));
    serverTimeZones.set(client, zone);
  }
  return zone;
}

/** Numbers as numbers, DateTime as epoch ms; everything else as ClickHouse sent it. */
export function normalize(result: PanelData, serverZone: string): PanelData {
  const converters = result.columns.map(({ type }): ((v: unknown) => unknown) | undefined => {
    if (NUMERIC.test(type)) return (v) => (typeof v === 'string' ? Number(v) : v);
    const dateTime = DATE_TIME.exec(type);
    if (dateTime) {
      const zone = dateTime[1] ?? serverZone;
      return (v) => (typeof v === 'string' ? zonedToEpochMs(v, zone) : v);
    }
    return undefined;
  });
  if (converters.every((c) => c === undefined)) return result;
  return { columns: result.columns, rows: result.rows.map((row) => row.map((v, i) => (converters[i] ? converters[i](v) : v))) };
}

const UTC_ZONES = new Set(['UTC', 'Etc/UTC', 'GMT', 'Etc/GMT', 'Universal', 'Zulu']);
const formatters = new Map<string, Intl.DateTimeFormat>();

/** 'YYYY-MM-DD hh:mm:ss' as a wall-clock time in `zone` → epoch ms. */
export function zonedToEpochMs(text: string, zone: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})$/.exec(text);
  if (!m) return Number.NaN;
  const asUtc = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  if (UTC_ZONES.has(zone)) return asUtc;
  // The zone's offset at that wall-clock time; the second pass settles days with a DST change.
  let epoch = asUtc - offsetMs(asUtc, zone);
  epoch = asUtc - offsetMs(epoch, zone);
  return epoch;
}

function offsetMs(epoch: number, zone: string): number {
  let format = formatters.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(zone, format);
  }
  const parts = Object.fromEntries(format.formatToParts(epoch).map((p) => [p.type, Number(p.value)]));
  const wall = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
  return wall - Math.floor(epoch / 1000) * 1000;
}

function hasUnreachableCode(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && UNREACHABLE.test(code);
}
