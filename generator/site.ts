/**
 * What the generator knows of the demo shop beyond its catalog and site map (those are the
 * clickstream pipeline's reference data, pipelines/clickstream-site.ts): event URLs are
 * `siteOrigin + path`, and `unmappedPages` are real pages of the shop that are deliberately missing
 * from the reference table, so the enrichment's miss path sees traffic.
 */

export const siteOrigin = 'https://shop.example.com';

/** Campaign landing pages that exist on the shop but not in the reference table (enrichment misses). */
export const unmappedPages = ['/promo/spring-sale', '/promo/free-shipping-weekend'] as const;
