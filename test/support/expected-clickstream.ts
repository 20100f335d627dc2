import type { GeneratedMessage } from '../../generator/messages.ts';
import type { ClickEvent } from '../../pipelines/clickstream-events.ts';

/**
 * What the clickstream tables must contain for a given input, computed the plain way from the
 * generator's labels (valid / duplicate / late / malformed) — no operator code is reused, so a bug
 * in the windows or dedupe cannot hide in both places.
 */
const MINUTE = 60_000;
const SESSION_GAP = 5 * MINUTE;
const MAX_OUT_OF_ORDER = 5_000;

export interface ExpectedClickstream {
  events: number;
  lateEvents: number;
  malformed: number;
  pageViews: Map<string, number>; // `${minute}|${url}`
  uniqueUsers: Map<number, number>; // minute -> users
  eventsPerMinute: Map<number, number>;
  activeUsers: Map<number, number>; // window start -> users over 5 min
  funnel: Map<number, { viewers: number; carters: number; buyers: number }>;
  revenue: Map<string, { revenue: number; orders: number; items: number }>; // `${minute}|${country}`
  sessions: Map<string, { end: number; pageViews: number; events: number; converted: number; revenue: number }>; // `${user}|${start}`
}

export function expectedClickstream(messages: readonly GeneratedMessage[]): ExpectedClickstream {
  const onTime: ClickEvent[] = [];
  let late = 0;
  let malformed = 0;
  for (const m of messages) {
    if (m.kind === 'valid') onTime.push(m.event);
    else if (m.kind === 'late') late++;
    else if (m.kind === 'malformed') malformed++;
  }
  const minute = (ts: number): number => Math.floor(ts / MINUTE) * MINUTE;
  const distinctBy = <K>(map: Map<K, Set<string>>, key: K, value: string): void => {
    let set = map.get(key);
    if (!set) {
      set = new Set();
      map.set(key, set);
    }
    set.add(value);
  };
  const sizes = <K>(map: Map<K, Set<string>>): Map<K, number> => new Map([...map].map(([k, s]) => [k, s.size]));

  const pageViews = new Map<string, number>();
  const users = new Map<number, Set<string>>();
  const eventsPerMinute = new Map<number, number>();
  const active = new Map<number, Set<string>>();
  const viewers = new Map<number, Set<string>>();
  const carters = new Map<number, Set<string>>();
  const buyers = new Map<number, Set<string>>();
  const revenue = new Map<string, { revenue: number; orders: number; items: number }>();
  for (const e of onTime) {
    const m = minute(e.ts);
    if (e.type === 'page_view') pageViews.set(`${m}|${e.url}`, (pageViews.get(`${m}|${e.url}`) ?? 0) + 1);
    distinctBy(users, m, e.user_id);
    eventsPerMinute.set(m, (eventsPerMinute.get(m) ?? 0) + 1);
    for (let start = m - 4 * MINUTE; start <= m; start += MINUTE) distinctBy(active, start, e.user_id);
    if (e.type === 'page_view') distinctBy(viewers, m, e.user_id);
    distinctBy(carters, m, '');
    distinctBy(buyers, m, '');
    if (e.type === 'add_to_cart') distinctBy(carters, m, e.user_id);
    if (e.type === 'purchase') {
      distinctBy(buyers, m, e.user_id);
      const key = `${m}|${e.country}`;
      const r = revenue.get(key) ?? { revenue: 0, orders: 0, items: 0 };
      r.revenue += e.price * e.quantity;
      r.orders++;
      r.items += e.quantity;
      revenue.set(key, r);
    }
  }
  const funnel = new Map<number, { viewers: number; carters: number; buyers: number }>();
  for (const m of users.keys()) {
    // The '' marker only made sure every minute has an entry; it is not a user.
    funnel.set(m, {
      viewers: viewers.get(m)?.size ?? 0,
      carters: (carters.get(m)?.size ?? 1) - 1,
      buyers: (buyers.get(m)?.size ?? 1) - 1,
    });
  }

  // Sessions: a user's events sorted by time, split where the gap reaches 5 minutes; only sessions
  // the final watermark has passed are complete (and therefore written).
  let maxTs = -Infinity;
  for (const m of messages) if (m.kind === 'valid' || m.kind === 'late') maxTs = Math.max(maxTs, m.event.ts);
  const watermark = maxTs - MAX_OUT_OF_ORDER;
  const byUser = new Map<string, ClickEvent[]>();
  for (const e of onTime) {
    const list = byUser.get(e.user_id) ?? [];
    list.push(e);
    byUser.set(e.user_id, list);
  }
  const sessions: ExpectedClickstream['sessions'] = new Map();
  for (const [user, list] of byUser) {
    list.sort((a, b) => a.ts - b.ts);
    let current: ClickEvent[] = [];
    const close = (): void => {
      if (current.length === 0) return;
      const start = current[0]!.ts;
      const last = current[current.length - 1]!.ts;
      if (last + SESSION_GAP <= watermark) {
        const purchases = current.filter((e) => e.type === 'purchase');
        sessions.set(`${user}|${Math.floor(start / 1000)}`, {
          end: Math.floor(last / 1000),
          pageViews: current.filter((e) => e.type === 'page_view').length,
          events: current.length,
          converted: purchases.length > 0 ? 1 : 0,
          revenue: purchases.reduce((s, e) => s + (e.type === 'purchase' ? e.price * e.quantity : 0), 0),
        });
      }
      current = [];
    };
    for (const e of list) {
      if (current.length > 0 && e.ts - current[current.length - 1]!.ts >= SESSION_GAP) close();
      current.push(e);
    }
    close();
  }

  return {
    events: onTime.length + late,
    lateEvents: late,
    malformed,
    pageViews,
    uniqueUsers: sizes(users),
    eventsPerMinute,
    activeUsers: sizes(active),
    funnel,
    revenue,
    sessions,
  };
}
