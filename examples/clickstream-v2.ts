/**
 * Backfill example: version 2 of the clickstream pipeline adds an aggregate (events per country
 * per hour). Run under a new name, it gets its own consumer and checkpoint and starts at the
 * beginning of the stream, so the new table is filled from history; the tables it shares with
 * version 1 are rewritten with identical rows (no change). Once it has caught up, stop version 1.
 *
 *   npx rxa run examples/clickstream-v2.ts           # backfills, then keeps running live
 *   npx rxa replay examples/clickstream-v2.ts --from 1   # or: backfill up to now, then stop
 */
import { map } from 'rxjs';
import { count, dedupe, definePipeline, defineTable, tumbling, windowRow } from '../index.ts';
import clickstream from '../pipelines/clickstream.ts';

export const countryHourlyTable = defineTable('clickstream_country_hourly', {
  columns: { window_start: 'DateTime', country: 'String', events: 'UInt64', version: 'UInt64' },
  orderBy: ['window_start', 'country'],
  version: 'version',
  partitionByMonth: 'window_start',
});

export function clickstreamV2(v1 = clickstream, name = `${v1.name}_v2`) {
  return definePipeline({
    ...v1,
    name,
    tables: { ...v1.tables, countryHourly: countryHourlyTable },
    build: (events, ctx) => ({
      ...v1.build(events, ctx),
      countryHourly: events.pipe(
        dedupe({ id: 'country-dedupe', key: (e) => e.event_id, ttlMs: 10 * 60_000 }),
        // An hourly report can wait for stragglers: up to 15 minutes late still counts.
        tumbling({
          id: 'country-hourly',
          sizeMs: 3_600_000,
          key: (e) => e.country,
          allowedLatenessMs: 15 * 60_000,
          aggregate: count(),
        }),
        map((w) => windowRow(w, { window_start: w.start, country: w.key, events: w.value })),
      ),
    }),
  });
}

export default clickstreamV2();
