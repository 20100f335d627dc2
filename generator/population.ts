// The English build alone: the package's index loads every locale (~37 MB of RSS against ~5).
import { faker } from '@faker-js/faker/locale/en';
import type { Random } from './random.ts';
import { Weighted } from './random.ts';

/** How a user first found the shop; it shapes where their visits land. */
export type Channel = 'direct' | 'google' | 'bing' | 'duckduckgo' | 'facebook' | 'instagram' | 'newsletter';

export interface User {
  readonly userId: string;
  /** ISO 3166-1 alpha-2. */
  readonly country: string;
  readonly userAgent: string;
  readonly channel: Channel;
}

/** The `referrer` of a visit's landing page per channel (`null`: typed URL, bookmark, app). */
export const channelReferrers: Readonly<Record<Channel, string | null>> = {
  direct: null,
  google: 'https://www.google.com/',
  bing: 'https://www.bing.com/',
  duckduckgo: 'https://duckduckgo.com/',
  facebook: 'https://l.facebook.com/',
  instagram: 'https://l.instagram.com/',
  newsletter: 'https://newsletter.shop.example.com/',
};

// Rough e-commerce traffic shares, not any real shop's.
const countries = new Weighted<string>([
  ['US', 34],
  ['GB', 9],
  ['DE', 9],
  ['FR', 6],
  ['IN', 7],
  ['CA', 5],
  ['BR', 5],
  ['JP', 5],
  ['ES', 4],
  ['IT', 4],
  ['NL', 3],
  ['AU', 3],
]);

const channels = new Weighted<Channel>([
  ['direct', 32],
  ['google', 33],
  ['bing', 5],
  ['duckduckgo', 2],
  ['facebook', 10],
  ['instagram', 6],
  ['newsletter', 12],
]);

const userAgents = new Weighted<string>([
  ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36', 24],
  ['Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1', 20],
  ['Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36', 14],
  ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15', 9],
  ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36', 9],
  ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.67', 8],
  ['Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0', 5],
  ['Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36', 5],
  ['Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1', 3],
  ['Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0', 3],
]);

/**
 * Builds the user population once, up front: faker is far too slow to call per event.
 * User ids are faker UUIDs (what an anonymous-id cookie looks like), deduplicated so they are unique.
 */
export function createPopulation(size: number, seed: number, random: Random): ReadonlyArray<User> {
  // The module's one instance, seeded here and drawn from synchronously: no other code uses it.
  faker.seed(seed);
  const seen = new Set<string>();
  const users: User[] = [];
  while (users.length < size) {
    const userId = faker.string.uuid();
    if (seen.has(userId)) continue;
    seen.add(userId);
    users.push({
      userId,
      country: countries.draw(random),
      userAgent: userAgents.draw(random),
      channel: channels.draw(random),
    });
  }
  return users;
}
