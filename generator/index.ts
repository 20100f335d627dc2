/**
 * The sample clickstream generator: a seeded, realistic web-shop clickstream with knobs for the
 * failure modes a streaming pipeline must survive, and a paced JetStream publisher for it.
 */
export { generateClickstream } from './clickstream.ts';
export { malformations } from './messages.ts';
export { partitionSubject } from './partition.ts';
export { publishMessages } from './publish.ts';
export { sessionGapMs } from './scheduler.ts';
export { blogPaths, productCategories, products, searchQueries, siteOrigin, sitePages, unmappedPages } from './site.ts';

export type { GeneratedMessage, Malformation } from './messages.ts';
export type { GeneratorOptions } from './options.ts';
export type { PublishOptions, PublishResult } from './publish.ts';
export type { PageCategory, Product, ProductCategory, SitePage } from './site.ts';
