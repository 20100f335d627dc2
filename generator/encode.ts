/**
 * JSON text to UTF-8 bytes. `Buffer.from` is ~6x faster than `TextEncoder.encode` on Node 20 for
 * event-sized strings (it carves small results out of a shared pool instead of allocating an
 * ArrayBuffer each time), and generation speed is a requirement. The result is returned as a plain
 * `Uint8Array` view: it may share its ArrayBuffer with other payloads, so treat it as read-only.
 */
export function encodeJson(value: unknown): Uint8Array {
  return utf8(JSON.stringify(value));
}

export function utf8(text: string): Uint8Array {
  const buffer = Buffer.from(text, 'utf8');
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}
