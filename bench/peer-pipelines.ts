import type { ClickHouseClient } from '@clickhouse/client';
import { map } from 'rxjs';
import { type BuildContext, definePipeline, type PipelineDefinition } from '../index.ts';
import { type ClickstreamOptions, createClickstreamPipeline, enrichedClick, pathOf, toEventRow } from '../pipelines/clickstream.ts';
import { sitePages } from '../pipelines/clickstream-site.ts';
import { eventsTable } from '../pipelines/clickstream-tables.ts';
import { quoteTable } from '../sinks/clickhouse/sql.ts';

/**
 * What a user would run instead of the clickstream pipeline, measured by the benchmark over the
 * same stream with the same runtime (batched durable pull, TabSeparated inserts, acks after the
 * write), so the difference is the operators:
 * - `noop`: validated events to the raw events table, nothing else: the floor of the work;
 * - `materialized-views`: the same, plus three ClickHouse materialized views computing page views,
 *   unique users and revenue by country per minute from the inserted rows, the peer many users
 *   build. What it cannot do: dedupe across inserts (a redelivered or replayed message is counted
 *   again), keep late events apart (a late event lands in its minute silently, however late),
 *   sessions, exact hopping windows (only fixed buckets of insert batches).
 */
export type PeerPipeline = 'noop' | 'materialized-views';

const categoryOf = new Map(sitePages.map((p) => [p.path, p.category]));

export function createPeerPipeline(peer: PeerPipeline, options: ClickstreamOptions): PipelineDefinition {
  const clickstream = createClickstreamPipeline(options);
  return definePipeline({
    name: clickstream.name,
    source: clickstream.source,
    schema: clickstream.schema,
    ...(clickstream.validation ? { validation: clickstream.validation } : {}),
    settings: clickstream.settings ?? {},
    tables: { events: eventsTable },
    ...(peer === 'materialized-views' ? { setup: createMaterializedViews } : {}),
    build: (events) => ({
      events: events.pipe(
        map((e) => {
          const path = pathOf(e.url);
          return toEventRow(enrichedClick(e, path, categoryOf.get(path) ?? 'unknown'));
        }),
      ),
    }),
  });
}

/** `definition` with only the outputs named: the rest are left unsubscribed, so their operators never run. */
export function onlyOutputs(definition: PipelineDefinition, outputs: readonly string[]): PipelineDefinition {
  const unknown = outputs.filter((name) => !(name in definition.tables));
  if (unknown.length > 0) throw new Error(`no such outputs: ${unknown.join(', ')} (the pipeline's: ${Object.keys(definition.tables).join(', ')})`);
  return {
    ...definition,
    build: (events, ctx) => Object.fromEntries(Object.entries(definition.build(events, ctx)).filter(([name]) => outputs.includes(name))),
  };
}

/** The three views, on ClickHouse 18.16 and current releases (toStartOfMinute, -State combinators). */
export function materializedViewsSql(database: string): string[] {
  const events = quoteTable(database, eventsTable.name);
  return [
    `CREATE MATERIALIZED VIEW IF NOT EXISTS ${quoteTable(database, 'mv_page_views_1m')} ENGINE = SummingMergeTree() ORDER BY (window_start, url) AS ` +
      `SELECT toStartOfMinute(ts) AS window_start, url, count() AS views FROM ${events} WHERE type = 'page_view' GROUP BY window_start, url`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS ${quoteTable(database, 'mv_unique_users_1m')} ENGINE = AggregatingMergeTree() ORDER BY window_start AS ` +
      `SELECT toStartOfMinute(ts) AS window_start, uniqExactState(user_id) AS users FROM ${events} GROUP BY window_start`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS ${quoteTable(database, 'mv_revenue_1m')} ENGINE = SummingMergeTree() ORDER BY (window_start, country) AS ` +
      `SELECT toStartOfMinute(ts) AS window_start, country, sum(price * quantity) AS revenue, count() AS orders FROM ${events} WHERE type = 'purchase' GROUP BY window_start, country`,
  ];
}

async function createMaterializedViews(ctx: BuildContext): Promise<void> {
  for (const query of materializedViewsSql(ctx.database)) await ctx.clickhouse.command({ query });
}

/** What the views counted, beside the raw rows they were computed from: the peer did its work. */
export async function materializedViewTotals(clickhouse: ClickHouseClient, database: string): Promise<{ pageViews: number; pageViewRows: number }> {
  const result = await clickhouse.query({
    query:
      `SELECT (SELECT sum(views) FROM ${quoteTable(database, 'mv_page_views_1m')}) AS pageViews, ` +
      `(SELECT count() FROM ${quoteTable(database, eventsTable.name)} FINAL WHERE type = 'page_view') AS pageViewRows`,
    format: 'JSONEachRow',
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  });
  const [row] = await result.json<{ pageViews: number; pageViewRows: number }>();
  return row ?? { pageViews: 0, pageViewRows: 0 };
}
