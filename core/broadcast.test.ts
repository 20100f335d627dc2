import { map, Subject, share } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { Broadcast } from './broadcast.ts';

/** What a Subject does for the same calls, to compare with. */
function script(make: () => Subject<number> | Broadcast<number>): string[] {
  const log: string[] = [];
  const subject = make();
  const observer = (name: string) => ({
    next: (v: number) => log.push(`${name}:${v}`),
    error: (e: unknown) => log.push(`${name}:error ${String(e)}`),
    complete: () => log.push(`${name}:complete`),
  });
  const a = subject.subscribe(observer('a'));
  subject.next(1);
  // Subscribed during a value: gets the next ones, not this one.
  let c: { unsubscribe(): void } | undefined;
  const b = subject.subscribe({
    next: (v) => {
      log.push(`b:${v}`);
      if (v === 2) c = subject.subscribe(observer('c'));
      if (v === 3) a.unsubscribe();
    },
    complete: () => log.push('b:complete'),
  });
  subject.next(2);
  subject.next(3);
  subject.next(4);
  c?.unsubscribe();
  subject.next(5);
  subject.complete();
  subject.next(6);
  subject.subscribe(observer('late'));
  b.unsubscribe();
  return log;
}

describe('Broadcast', () => {
  it('fans values out as a Subject does: order, subscriptions during a value, completion, late subscribers', () => {
    expect(script(() => new Broadcast<number>())).toEqual(script(() => new Subject<number>()));
  });

  it('errors every subscriber, and later ones at once', () => {
    const broadcast = new Broadcast<number>();
    const seen: string[] = [];
    broadcast.subscribe({ error: (e: unknown) => seen.push(`first ${String(e)}`) });
    broadcast.error('boom');
    broadcast.next(1);
    broadcast.subscribe({ next: () => seen.push('never'), error: (e: unknown) => seen.push(`late ${String(e)}`) });
    expect(seen).toEqual(['first boom', 'late boom']);
  });

  it("serves as share()'s connector: the source runs once for every subscriber", () => {
    const input = new Broadcast<number>();
    let runs = 0;
    const shared = input.pipe(
      map((v) => {
        runs++;
        return v * 10;
      }),
      share({ connector: () => new Broadcast<number>() }),
    );
    const seen: number[][] = [[], []];
    shared.subscribe((v) => seen[0]!.push(v));
    shared.subscribe((v) => seen[1]!.push(v));
    input.next(1);
    input.next(2);
    expect(seen).toEqual([
      [10, 20],
      [10, 20],
    ]);
    expect(runs).toBe(2);
  });
});
