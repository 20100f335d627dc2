import type { ClickHouseClient } from '@clickhouse/client';
import type { BuildContext } from '../core/pipeline.ts';
import { sitePages } from '../pipelines/clickstream-site.ts';

/**
 * The clickstream pipeline's build context without a ClickHouse: enrichment's only I/O, the catalog
 * read whole at start and a query per path it lacks, is answered from the site map. For running the
 * operators alone, in memory.
 */
export function inMemoryClickstreamContext(pipeline: string): BuildContext {
  const categories = new Map(sitePages.map((p) => [p.path, p.category]));
  const clickhouse = {
    query: async ({ query }: { query: string }) => {
      const path = /path = '([^']*)'/.exec(query)?.[1];
      if (path === undefined) return { json: async () => sitePages.map((p) => ({ path: p.path, category: p.category })) };
      const category = categories.get(path);
      return { json: async () => (category === undefined ? [] : [{ category }]) };
    },
  } as unknown as ClickHouseClient;
  return { clickhouse, database: 'bench', pipeline };
}
