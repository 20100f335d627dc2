import { type BuildContext, ensureTables, quoteTable, sqlString } from '../index.ts';
import { sitePages } from './clickstream-site.ts';
import { pagesTable } from './clickstream-tables.ts';

/** The page catalog table in the pipeline's database, quoted for SQL. */
function pagesTableIn(ctx: BuildContext): string {
  return quoteTable(ctx.database, pagesTable.name);
}

/** Create the page catalog reference table and (re)load it from the demo site map. Idempotent. */
export async function seedPages(ctx: BuildContext): Promise<void> {
  await ensureTables(ctx.clickhouse, ctx.database, [pagesTable], { cluster: ctx.cluster });
  await ctx.clickhouse.insert({
    table: pagesTableIn(ctx),
    values: sitePages.map((p) => ({ path: p.path, category: p.category })),
    format: 'JSONEachRow',
  });
}

/** Look a URL path's category up in ClickHouse; `undefined` when the path is not in the catalog. */
export function pageCategoryLookup(ctx: BuildContext): (path: string) => Promise<string | undefined> {
  const table = pagesTableIn(ctx);
  return async (path) => {
    const result = await ctx.clickhouse.query({
      query: `SELECT category FROM ${table} FINAL WHERE path = ${sqlString(path)} LIMIT 1`,
      format: 'JSONEachRow',
    });
    const rows = await result.json<{ category: string }>();
    return rows[0]?.category;
  };
}

/** Every path's category in the catalog: what enrichment caches before its first lookup. */
export function pageCategories(ctx: BuildContext): () => Promise<Array<[string, string]>> {
  const table = pagesTableIn(ctx);
  return async () => {
    const result = await ctx.clickhouse.query({ query: `SELECT path, category FROM ${table} FINAL`, format: 'JSONEachRow' });
    const rows = await result.json<{ path: string; category: string }>();
    return rows.map((row) => [row.path, row.category]);
  };
}
