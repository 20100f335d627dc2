import type { ClickEvent } from '../pipelines/clickstream-events.ts';
import { products } from '../pipelines/clickstream-site.ts';
import { encodeJson, utf8 } from './encode.ts';
import type { Malformation } from './messages.ts';
import { futureSkewMs, pastSkewMs } from './options.ts';
import type { Random } from './random.ts';

/**
 * Payload builders for the edge-case cycle: the malformations and the unicode-edge valid events.
 * Each starts from a schema-valid event so that exactly one thing is wrong with it.
 */

/**
 * Over the clickstream pipeline's 32 KiB event limit, under NATS's default 1 MiB max_payload: the
 * message reaches the stream, and the pipeline must dead-letter it.
 */
export const oversizedBytes = 48 * 1024;
let oversizedPad: string | undefined;

/** Sequences a fatal UTF-8 decoder must reject: stray byte, bad continuation, truncated, surrogate, overlong. */
const invalidUtf8 = [[0xff], [0xc3, 0x28], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xc0, 0xaf]] as const;

const requiredFields = ['event_id', 'type', 'ts', 'user_id', 'url', 'referrer', 'user_agent', 'country'] as const;

type Json = Record<string, unknown>;

export function malformedPayload(malformation: Malformation, base: ClickEvent, random: Random): Uint8Array {
  switch (malformation) {
    case 'invalid-json':
      return utf8(invalidJson(JSON.stringify(base), base.ts, random));
    case 'schema':
      return encodeJson(schemaViolation(base, random));
    case 'wrong-type':
      return encodeJson(random.chance(0.5) ? { ...base, ts: String(base.ts) } : { ...base, url: { href: base.url } });
    case 'missing-field': {
      const record: Json = { ...base };
      delete record[random.pick(requiredFields)];
      return encodeJson(record);
    }
    case 'non-utf8':
      return nonUtf8(base, random);
    case 'oversized':
      oversizedPad ??= 'lorem ipsum dolor sit amet '.repeat(Math.ceil(oversizedBytes / 27));
      return encodeJson({ ...base, type: 'click', element: oversizedPad });
    case 'future-timestamp':
      return encodeJson({ ...base, ts: base.ts + futureSkewMs });
    case 'past-timestamp':
      return encodeJson({ ...base, ts: base.ts - pastSkewMs });
  }
}

function invalidJson(text: string, ts: number, random: Random): string {
  switch (random.int(5)) {
    case 0:
      // Any proper prefix of a JSON object is invalid: the closing brace is missing.
      return text.slice(0, 1 + random.int(text.length - 1));
    case 1:
      return `${text.slice(0, -1)},}`;
    case 2:
      return text.replaceAll('"', "'");
    case 3:
      return text.replace(`"ts":${ts}`, '"ts":NaN');
    default:
      return text + text;
  }
}

function schemaViolation(base: ClickEvent, random: Random): Json {
  switch (random.int(5)) {
    case 0:
      return { ...base, type: 'hover' };
    case 1:
      // Not an unknown field: the pipeline reads those tolerantly (dropped and counted).
      return { ...base, url: '' };
    case 2:
      return { ...base, country: 'USA' };
    case 3: {
      const product = random.pick(products);
      return { ...base, type: 'add_to_cart', product_id: product.id, price: -product.price, quantity: 1 };
    }
    default:
      return { ...base, event_id: '' };
  }
}

/** A valid event whose user_agent has invalid UTF-8 bytes spliced in. */
function nonUtf8(base: ClickEvent, random: Random): Uint8Array {
  // A private-use character: JSON.stringify leaves it unescaped, so it marks the splice point.
  const marker = '\uE000';
  const [before = '', after = ''] = JSON.stringify({ ...base, user_agent: `${base.user_agent}${marker}` }).split(marker);
  const head = utf8(before);
  const bad = random.pick(invalidUtf8);
  const tail = utf8(after);
  const bytes = new Uint8Array(head.length + bad.length + tail.length);
  bytes.set(head, 0);
  bytes.set(bad, head.length);
  bytes.set(tail, head.length + bad.length);
  return bytes;
}

/** Well-formed but hostile unicode: ZWJ emoji, flags, combining marks, RTL and bidi controls, astral planes. */
const unicodeStrings = [
  'caf\u0065\u0301 \u2615',
  '\u{1F469}\u{1F3FD}\u200D\u{1F4BB} sticker',
  '\u{1F1EF}\u{1F1F5} \u{1F1E7}\u{1F1F7} flags',
  '\u05E9\u05DC\u05D5\u05DD \u05E2\u05D5\u05DC\u05DD',
  '\u0645\u0631\u062D\u0628\u0627 \u200F\u0628\u0627\u0644\u0639\u0627\u0644\u0645',
  'Z\u0324\u0354\u0367\u0311a\u0308\u0356\u032D\u0308l\u036E\u0312\u036Bg\u030C\u0317\u035Ao\u0319\u0314\u036E',
  '\u202Egnp.exe\u202C \u200B\u00A0\uFEFF',
  '\u8CB7\u3044\u7269\u304B\u3054 \u{1D518}\u{1D52B}\u{1D526}',
  'say "hi" \\ back\nslash\t\u{10FFFD}',
] as const;

/**
 * Turns a visit's event into a unicode-edge one: same user, time and place, with an external
 * referrer carrying a raw-unicode search query and, on clicks, a unicode element label.
 */
export function unicodeEdgeEvent(event: ClickEvent, random: Random): ClickEvent {
  const text = random.pick(unicodeStrings);
  const referrer = `https://www.google.com/search?q=${text}`;
  return event.type === 'click' ? { ...event, referrer, element: `wishlist ${random.pick(unicodeStrings)}` } : { ...event, referrer };
}
