/**
 * The demo web shop's catalog and site map, as data: reference data of the clickstream pipeline,
 * whose setup loads `sitePages` (`path -> category`) into the pages table its enrichment looks
 * URL paths up in (clickstream-pages.ts), and what the generator (generator/) builds its visits
 * from, so this list is the contract between the two. The generator's own knowledge of the shop
 * (the URLs' origin, pages deliberately left out of the table) is in generator/site.ts.
 */

export type PageCategory = 'home' | 'category' | 'product' | 'cart' | 'checkout' | 'search' | 'content';

export interface SitePage {
  readonly path: string;
  readonly category: PageCategory;
}

export interface Product {
  readonly id: string;
  readonly name: string;
  /** Slug of the catalog category, as in `/category/<slug>`. */
  readonly category: ProductCategory;
  /** Unit price in USD. */
  readonly price: number;
}

export const productCategories = ['shoes', 'apparel', 'outdoor', 'electronics', 'home'] as const;
export type ProductCategory = (typeof productCategories)[number];

/** Ordered by popularity within each category: the generator favours earlier products. */
export const products: ReadonlyArray<Product> = [
  { id: 'p-1042', name: 'Trail Runner 3 Running Shoe', category: 'shoes', price: 129.99 },
  { id: 'p-1007', name: 'Everyday Leather Sneaker', category: 'shoes', price: 89.5 },
  { id: 'p-1118', name: 'Alpine Hiking Boot', category: 'shoes', price: 174 },
  { id: 'p-1023', name: 'Cloudstep Slip-On', category: 'shoes', price: 64.95 },
  { id: 'p-1090', name: 'Court Classic Tennis Shoe', category: 'shoes', price: 79.99 },
  { id: 'p-1135', name: 'Merino Wool Running Sock (3-pack)', category: 'shoes', price: 24 },
  { id: 'p-2011', name: 'Organic Cotton Crew T-Shirt', category: 'apparel', price: 22 },
  { id: 'p-2048', name: 'Packable Rain Jacket', category: 'apparel', price: 119 },
  { id: 'p-2003', name: 'Slim Stretch Chino', category: 'apparel', price: 59.9 },
  { id: 'p-2077', name: 'Heavyweight Hoodie', category: 'apparel', price: 68 },
  { id: 'p-2105', name: 'Quarter-Zip Fleece', category: 'apparel', price: 74.5 },
  { id: 'p-2060', name: 'Linen Button-Down Shirt', category: 'apparel', price: 54 },
  { id: 'p-3016', name: '2-Person Backpacking Tent', category: 'outdoor', price: 289 },
  { id: 'p-3029', name: 'Insulated Water Bottle 750 ml', category: 'outdoor', price: 32.99 },
  { id: 'p-3101', name: 'Down Sleeping Bag -5 °C', category: 'outdoor', price: 219.95 },
  { id: 'p-3044', name: 'Daypack 28 L', category: 'outdoor', price: 89 },
  { id: 'p-3088', name: 'Carbon Trekking Poles', category: 'outdoor', price: 109 },
  { id: 'p-4002', name: 'Noise-Cancelling Headphones', category: 'electronics', price: 249 },
  { id: 'p-4019', name: 'True Wireless Earbuds', category: 'electronics', price: 129 },
  { id: 'p-4050', name: 'GPS Sports Watch', category: 'electronics', price: 299.99 },
  { id: 'p-4033', name: 'Portable Bluetooth Speaker', category: 'electronics', price: 79 },
  { id: 'p-4071', name: 'USB-C Power Bank 20000 mAh', category: 'electronics', price: 45.99 },
  { id: 'p-4096', name: 'Action Camera 4K', category: 'electronics', price: 199 },
  { id: 'p-5005', name: 'Burr Coffee Grinder', category: 'home', price: 139 },
  { id: 'p-5032', name: 'Pour-Over Coffee Set', category: 'home', price: 42 },
  { id: 'p-5018', name: 'Cast Iron Skillet 26 cm', category: 'home', price: 39.95 },
  { id: 'p-5067', name: 'Linen Duvet Cover', category: 'home', price: 149 },
  { id: 'p-5049', name: 'Ceramic Mug Set (4)', category: 'home', price: 36 },
];

/** The bounded set of site searches, each leading to products of one category. */
export const searchQueries: ReadonlyArray<{ readonly query: string; readonly category: ProductCategory }> = [
  { query: 'running+shoes', category: 'shoes' },
  { query: 'rain+jacket', category: 'apparel' },
  { query: 'tent', category: 'outdoor' },
  { query: 'headphones', category: 'electronics' },
  { query: 'coffee+grinder', category: 'home' },
];

export const blogPaths = ['/blog/how-to-choose-running-shoes', '/blog/packing-list-for-a-weekend-hike', '/blog/brewing-better-coffee-at-home'] as const;

export const sitePages: ReadonlyArray<SitePage> = [
  { path: '/', category: 'home' },
  ...productCategories.map((slug) => ({ path: `/category/${slug}`, category: 'category' as const })),
  ...products.map((p) => ({ path: `/product/${p.id}`, category: 'product' as const })),
  { path: '/cart', category: 'cart' },
  { path: '/checkout', category: 'checkout' },
  { path: '/checkout/confirmation', category: 'checkout' },
  ...searchQueries.map((s) => ({ path: `/search?q=${s.query}`, category: 'search' as const })),
  ...blogPaths.map((path) => ({ path, category: 'content' as const })),
];
