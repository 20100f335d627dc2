import type { GeneratedMessage } from './messages.ts';
import type { Random } from './random.ts';

type Valid = Extract<GeneratedMessage, { kind: 'valid' }>;
type Duplicate = Extract<GeneratedMessage, { kind: 'duplicate' }>;

/** How far back a re-send reaches, in valid events: a client retry comes a few events later. */
const reach = 32;

/**
 * Re-sends of recent valid events, as a client retrying after a lost ack would. Each original is
 * re-sent at most once, so `original + '~retry'` msgIds stay unique. Re-sends alternate between the
 * original msgId (JetStream's dedup window drops them) and a fresh one (the pipeline must drop them).
 */
export class Duplicates {
  readonly #recent: Array<Valid | undefined> = new Array<Valid | undefined>(reach).fill(undefined);
  #written = 0;
  #sameMsgId = true;

  remember(message: Valid): void {
    this.#recent[this.#written++ % reach] = message;
  }

  /** A re-send of one of the last `reach` valid events not re-sent yet; `undefined` if there is none. */
  take(random: Random): Duplicate | undefined {
    const filled = Math.min(this.#written, reach);
    if (filled === 0) return undefined;
    const start = random.int(filled);
    for (let i = 0; i < filled; i++) {
      const slot = (this.#written - 1 - ((start + i) % filled)) % reach;
      const original = this.#recent[slot];
      if (original === undefined) continue;
      this.#recent[slot] = undefined;
      const sameMsgId = this.#sameMsgId;
      this.#sameMsgId = !sameMsgId;
      return {
        kind: 'duplicate',
        event: original.event,
        payload: original.payload,
        msgId: sameMsgId ? original.msgId : `${original.msgId}~retry`,
        sameMsgId,
      };
    }
    return undefined;
  }
}
