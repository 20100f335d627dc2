import type { ClickEvent } from '../pipelines/clickstream-events.ts';
import { blogPaths, type Product, type ProductCategory, productCategories, products, searchQueries } from '../pipelines/clickstream-site.ts';
import type { Channel, User } from './population.ts';
import { channelReferrers } from './population.ts';
import type { Random } from './random.ts';
import { Weighted } from './random.ts';
import { siteOrigin, unmappedPages } from './site.ts';

/**
 * One visit (a session, in analytics terms): a user's page flow through the shop, one event per step.
 *
 * The flow is a small Markov chain over page kinds (landing by acquisition channel, then category ->
 * product -> cart -> checkout -> purchase, with exits everywhere). Weights are tuned so that about
 * 3% of visits purchase and roughly a third bounce, which is typical for a web shop.
 */

type PageKind = 'home' | 'category' | 'product' | 'search' | 'content' | 'cart' | 'checkout' | 'confirmation' | 'promo';

interface Page {
  readonly kind: PageKind;
  readonly url: string;
  /** The product shown (product pages) or searched for / listed (category and search pages). */
  readonly productCategory: ProductCategory | undefined;
  readonly product: Product | undefined;
}

/** Where a user goes next from a page; `add` and `purchase` stay on the page. */
type Target = 'home' | 'category' | 'product' | 'search' | 'content' | 'cart' | 'checkout' | 'promo' | 'add' | 'purchase' | 'exit';

type Step = { readonly t: 'view'; readonly page: Page } | { readonly t: 'click'; readonly element: string } | { readonly t: 'add' } | { readonly t: 'buy' };

interface QueuedStep {
  readonly step: Step;
  /** Event-time delay after the previous event of this visit, ms. */
  readonly delay: number;
}

interface CartLine {
  readonly product: Product;
  quantity: number;
}

export interface Visit {
  readonly user: User;
  /** When the next step is due (event time, ms; fractional). */
  nextAt: number;
  /** False once the last step has been emitted. */
  active: boolean;
  page: Page | undefined;
  /** The referrer the current page was loaded with; clicks and cart events on it carry it too. */
  pageReferrer: string | null;
  /** The referrer of the first page view. */
  readonly landingReferrer: string | null;
  justAdded: boolean;
  readonly queue: QueuedStep[];
  readonly cart: CartLine[];
  orderId: string;
}

function page(kind: PageKind, path: string, productCategory?: ProductCategory, product?: Product): Page {
  return { kind, url: siteOrigin + path, productCategory, product };
}

const homePage = page('home', '/');
const cartPage = page('cart', '/cart');
const checkoutPage = page('checkout', '/checkout');
const confirmationPage = page('confirmation', '/checkout/confirmation');
const categoryPages = new Map(productCategories.map((c) => [c, page('category', `/category/${c}`, c)]));
const productPages = new Map(products.map((p) => [p.id, page('product', `/product/${p.id}`, p.category, p)]));
const searchPages = searchQueries.map((s) => page('search', `/search?q=${s.query}`, s.category));
const contentPages = blogPaths.map((path) => page('content', path));
const promoPages = unmappedPages.map((path) => page('promo', path));

// Popularity: earlier products in the catalog (and in each category) sell more, roughly Zipf.
const zipf = <T>(items: ReadonlyArray<T>): Weighted<T> => new Weighted(items.map((item, i) => [item, 1 / (i + 1)] as const));
const anyProduct = zipf(products);
const productsByCategory = new Map(productCategories.map((c) => [c, zipf(products.filter((p) => p.category === c))]));
const anyCategory = new Weighted<ProductCategory>([
  ['shoes', 30],
  ['apparel', 25],
  ['electronics', 20],
  ['outdoor', 15],
  ['home', 10],
]);

/** A navigation to another page (as opposed to acting on the current one, or leaving). */
type Navigation = Exclude<Target, 'add' | 'purchase' | 'exit'>;

const weighted = <K extends Target>(entries: Partial<Record<K, number>>): Weighted<K> => new Weighted(Object.entries(entries) as Array<[K, number]>);

const searchEngineLanding = weighted<Navigation>({ product: 45, category: 28, home: 15, content: 12 });
const landing: Readonly<Record<Channel, Weighted<Navigation>>> = {
  direct: weighted<Navigation>({ home: 60, product: 18, category: 14, cart: 5, content: 3 }),
  google: searchEngineLanding,
  bing: searchEngineLanding,
  duckduckgo: searchEngineLanding,
  facebook: weighted<Navigation>({ product: 55, content: 20, home: 15, promo: 10 }),
  instagram: weighted<Navigation>({ product: 65, home: 25, promo: 10 }),
  newsletter: weighted<Navigation>({ category: 35, product: 30, promo: 25, home: 10 }),
};

const next = {
  home: weighted<Target>({ category: 42, search: 14, product: 16, content: 5, cart: 2, exit: 21 }),
  category: weighted<Target>({ product: 55, category: 10, search: 5, home: 3, exit: 27 }),
  search: weighted<Target>({ product: 55, search: 7, category: 8, exit: 30 }),
  product: weighted<Target>({ add: 13, product: 26, category: 14, search: 5, cart: 3, home: 2, exit: 39 }),
  productAdded: weighted<Target>({ cart: 42, product: 22, category: 8, exit: 28 }),
  cart: weighted<Target>({ checkout: 55, product: 14, home: 3, exit: 28 }),
  emptyCart: weighted<Target>({ product: 40, category: 20, exit: 40 }),
  checkout: weighted<Target>({ purchase: 66, cart: 10, exit: 24 }),
  confirmation: weighted<Target>({ home: 8, product: 4, exit: 88 }),
  content: weighted<Target>({ product: 26, content: 14, home: 10, category: 10, exit: 40 }),
  promo: weighted<Target>({ product: 45, category: 20, exit: 35 }),
} as const;

/** Clicks that lead to a target, and how often the click is tracked before it. */
const navigationClicks: Readonly<Record<Exclude<Target, 'exit'>, readonly [Step, number]>> = {
  home: [{ t: 'click', element: 'logo' }, 0.3],
  category: [{ t: 'click', element: 'nav-link' }, 0.35],
  product: [{ t: 'click', element: 'product-card' }, 0.35],
  search: [{ t: 'click', element: 'search-button' }, 0.5],
  content: [{ t: 'click', element: 'blog-link' }, 0.3],
  promo: [{ t: 'click', element: 'promo-banner' }, 0.5],
  cart: [{ t: 'click', element: 'cart-icon' }, 0.5],
  checkout: [{ t: 'click', element: 'checkout-button' }, 0.7],
  add: [{ t: 'click', element: 'buy-button' }, 0.85],
  purchase: [{ t: 'click', element: 'place-order-button' }, 0.9],
};

/** Clicks that do not navigate (tracked widgets), by page kind. */
const ambientClicks: Partial<Record<PageKind, ReadonlyArray<Step>>> = {
  product: ['image-gallery', 'size-selector', 'reviews-tab'].map((element) => ({ t: 'click', element })),
  category: ['filter-price', 'sort-dropdown'].map((element) => ({ t: 'click', element })),
  search: ['filter-price', 'sort-dropdown'].map((element) => ({ t: 'click', element })),
};
const ambientClickRate = 0.1;

/** Pages seen by events outside visits (late and malformed messages): mapped pages only. */
const standaloneTargets = weighted<Navigation>({ home: 20, category: 20, product: 40, search: 10, content: 10 });

const addStep: Step = { t: 'add' };
const buyStep: Step = { t: 'buy' };
const quantities = new Weighted<number>([
  [1, 75],
  [2, 18],
  [3, 7],
]);

/** Reading a page: seconds to a minute. */
function readTime(random: Random): number {
  return 2_000 + Math.min(random.exponential(12_000), 58_000);
}

/** From a tracked click to the page (or cart update) it triggers. */
function navigationTime(random: Random): number {
  return 300 + random.float() * 1_700;
}

/**
 * Drives visits. Holds the order counter, so one planner per generator run.
 */
export class VisitPlanner {
  readonly #random: Random;
  #orders: number;

  constructor(random: Random) {
    this.#random = random;
    // Order numbers continue from a seeded base, like a shop that has been running for a while.
    this.#orders = 10_000_000 + random.int(80_000_000);
  }

  /** Starts a visit of `user` whose landing page view is due at `at`. */
  start(user: User, at: number): Visit {
    const random = this.#random;
    // Returning users often come back directly rather than through their acquisition channel.
    const channel: Channel = random.chance(0.7) ? user.channel : 'direct';
    const visit: Visit = {
      user,
      nextAt: at,
      active: true,
      page: undefined,
      pageReferrer: null,
      landingReferrer: channelReferrers[channel],
      justAdded: false,
      queue: [],
      cart: [],
      orderId: '',
    };
    const target = landing[channel].draw(random);
    visit.queue.push({ step: { t: 'view', page: this.#resolve(target, undefined) }, delay: 0 });
    return visit;
  }

  /**
   * Emits the visit's due step as an event at `ts`, then plans the following step, scheduling it
   * after a think time, or ends the visit (`active = false`).
   */
  step(visit: Visit, eventId: string, ts: number): ClickEvent {
    const queued = visit.queue.shift();
    if (queued === undefined || !visit.active) throw new Error('step() on a finished visit');
    const event = this.#emit(visit, queued.step, eventId, ts);
    if (visit.queue.length === 0) this.#plan(visit);
    const upcoming = visit.queue[0];
    if (upcoming === undefined) visit.active = false;
    else visit.nextAt = ts + upcoming.delay;
    return event;
  }

  /** A page view outside any visit (late or malformed messages), on a mapped page. */
  standalonePageView(user: User, eventId: string, ts: number): ClickEvent {
    const viewed = this.#resolve(standaloneTargets.draw(this.#random), undefined);
    return {
      event_id: eventId,
      type: 'page_view',
      ts,
      user_id: user.userId,
      url: viewed.url,
      referrer: null,
      user_agent: user.userAgent,
      country: user.country,
    };
  }

  #emit(visit: Visit, step: Step, eventId: string, ts: number): ClickEvent {
    const { user } = visit;
    const current = visit.page;
    switch (step.t) {
      case 'view': {
        const referrer = current === undefined ? visit.landingReferrer : current.url;
        visit.page = step.page;
        visit.pageReferrer = referrer;
        visit.justAdded = false;
        return {
          event_id: eventId,
          type: 'page_view',
          ts,
          user_id: user.userId,
          url: step.page.url,
          referrer,
          user_agent: user.userAgent,
          country: user.country,
        };
      }
      case 'click':
        return {
          event_id: eventId,
          type: 'click',
          ts,
          user_id: user.userId,
          url: current?.url ?? homePage.url,
          referrer: visit.pageReferrer,
          user_agent: user.userAgent,
          country: user.country,
          element: step.element,
        };
      case 'add': {
        const product = current?.product;
        if (product === undefined) throw new Error('add_to_cart planned off a product page');
        const quantity = quantities.draw(this.#random);
        const line = visit.cart.find((l) => l.product === product);
        if (line === undefined) visit.cart.push({ product, quantity });
        else line.quantity += quantity;
        visit.justAdded = true;
        return {
          event_id: eventId,
          type: 'add_to_cart',
          ts,
          user_id: user.userId,
          url: current?.url ?? homePage.url,
          referrer: visit.pageReferrer,
          user_agent: user.userAgent,
          country: user.country,
          product_id: product.id,
          price: product.price,
          quantity,
        };
      }
      case 'buy': {
        // One purchase event per cart line, all sharing the order id; the cart empties as it is paid.
        const line = visit.cart.shift();
        if (line === undefined) throw new Error('purchase planned with an empty cart');
        return {
          event_id: eventId,
          type: 'purchase',
          ts,
          user_id: user.userId,
          url: current?.url ?? checkoutPage.url,
          referrer: visit.pageReferrer,
          user_agent: user.userAgent,
          country: user.country,
          product_id: line.product.id,
          price: line.product.price,
          quantity: line.quantity,
          order_id: visit.orderId,
        };
      }
    }
  }

  #plan(visit: Visit): void {
    const random = this.#random;
    const current = visit.page;
    if (current === undefined) return;
    const target = this.#nextTarget(visit, current);
    if (target === 'exit') return;
    const queue = visit.queue;

    if (random.chance(ambientClickRate)) {
      const ambient = ambientClicks[current.kind];
      if (ambient !== undefined) queue.push({ step: random.pick(ambient), delay: readTime(random) });
    }
    const [click, clickRate] = navigationClicks[target];
    let delay = readTime(random);
    if (random.chance(clickRate)) {
      queue.push({ step: click, delay });
      delay = navigationTime(random);
    }

    if (target === 'add') {
      queue.push({ step: addStep, delay });
    } else if (target === 'purchase') {
      visit.orderId = `ORD-${this.#orders++}`;
      for (let i = 0; i < visit.cart.length; i++) {
        queue.push({ step: buyStep, delay: i === 0 ? delay : 20 + random.float() * 180 });
      }
      queue.push({ step: { t: 'view', page: confirmationPage }, delay: navigationTime(random) });
    } else {
      queue.push({ step: { t: 'view', page: this.#resolve(target, current) }, delay });
    }
  }

  #nextTarget(visit: Visit, current: Page): Target {
    const random = this.#random;
    switch (current.kind) {
      case 'product':
        return (visit.justAdded ? next.productAdded : next.product).draw(random);
      case 'cart':
        return (visit.cart.length > 0 ? next.cart : next.emptyCart).draw(random);
      case 'checkout': {
        const target = next.checkout.draw(random);
        return target === 'purchase' && visit.cart.length === 0 ? 'exit' : target;
      }
      default:
        return next[current.kind].draw(random);
    }
  }

  /** A concrete page for a navigation target, staying within the current product category when there is one. */
  #resolve(target: Navigation, current: Page | undefined): Page {
    const random = this.#random;
    const category = current?.productCategory;
    switch (target) {
      case 'home':
        return homePage;
      case 'cart':
        return cartPage;
      case 'checkout':
        return checkoutPage;
      case 'search':
        return random.pick(searchPages);
      case 'content':
        return random.pick(contentPages);
      case 'promo':
        return random.pick(promoPages);
      case 'category': {
        const slug = category !== undefined && random.chance(0.3) ? category : anyCategory.draw(random);
        return categoryPages.get(slug) as Page;
      }
      case 'product': {
        // From a listing or a product page, shoppers mostly stay in that category.
        const pool = category !== undefined && random.chance(0.85) ? productsByCategory.get(category) : undefined;
        let product = (pool ?? anyProduct).draw(random);
        if (product === current?.product) product = anyProduct.draw(random);
        return productPages.get(product.id) as Page;
      }
    }
  }
}
