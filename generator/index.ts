/**
 * The sample clickstream generator: a seeded, realistic web-shop clickstream with knobs for the
 * failure modes a streaming pipeline must survive, and a paced JetStream publisher for it.
 */

export type { PageCategory, Product, ProductCategory, SitePage } from '../pipelines/clickstream-site.ts';
export { blogPaths, productCategories, products, searchQueries, sitePages } from '../pipelines/clickstream-site.ts';
export { generateClickstream } from './clickstream.ts';
export type { GeneratedMessage, Malformation } from './messages.ts';
export { malformations } from './messages.ts';
export type { GeneratorOptions } from './options.ts';
export { partitionSubject } from './partition.ts';
export type { PublishOptions, PublishResult } from './publish.ts';
export { publishMessages } from './publish.ts';
export { sessionGapMs } from './scheduler.ts';
export { siteOrigin, unmappedPages } from './site.ts';
