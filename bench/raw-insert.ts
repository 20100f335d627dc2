import type { ClickHouseClient } from '@clickhouse/client';
import { enrichedClick, pathOf, toEventRow } from '../pipelines/clickstream.ts';
import type { ClickEvent } from '../pipelines/clickstream-events.ts';
import { sitePages } from '../pipelines/clickstream-site.ts';
import { eventsTable } from '../pipelines/clickstream-tables.ts';
import { EncodedRows } from '../sinks/clickhouse/encoded-rows.ts';
import { ensureTables } from '../sinks/clickhouse/schema.ts';
import type { TableRow } from '../sinks/clickhouse/table.ts';
import { ClickHouseWriter } from '../sinks/clickhouse/writer.ts';
import { bulkWorkload } from './workload.ts';

export interface RawInsertResult {
  readonly rows: number;
  /** Time spent in `insert` calls only (rows are generated between them, untimed). */
  readonly seconds: number;
  readonly perSecond: number;
}

const categoryOf = new Map(sitePages.map((p) => [p.path, p.category]));

/** A `clickstream_events` row as the pipeline writes it (after dedupe and enrichment). */
function eventRow(e: ClickEvent): TableRow<typeof eventsTable> {
  const path = pathOf(e.url);
  return toEventRow(enrichedClick(e, path, categoryOf.get(path) ?? 'unknown'));
}

/**
 * The ClickHouse ceiling: `rows` clickstream_events rows from the same generator, inserted with
 * `INSERT ... FORMAT TabSeparated` in batches of the pipeline's flush size, one after another,
 * encoded and sent as the pipeline's writer encodes and sends them. Only the inserts are timed.
 */
export async function rawInsert(clickhouse: ClickHouseClient, database: string, rows: number, batchSize: number): Promise<RawInsertResult> {
  await ensureTables(clickhouse, database, [eventsTable]);
  const writer = new ClickHouseWriter(clickhouse, database);
  const source = bulkWorkload(rows, 11);
  let written = 0;
  let insertMs = 0;
  const batch = EncodedRows.for(eventsTable);
  const flush = async (): Promise<void> => {
    const started = performance.now();
    await writer.write(batch);
    insertMs += performance.now() - started;
    written += batch.length;
    batch.release();
  };
  for (const message of source) {
    if (!('event' in message)) continue;
    batch.push(eventRow(message.event));
    if (written + batch.length === rows) break;
    if (batch.length === batchSize) await flush();
  }
  if (batch.length > 0) await flush();
  return { rows: written, seconds: insertMs / 1000, perSecond: (written * 1000) / insertMs };
}
