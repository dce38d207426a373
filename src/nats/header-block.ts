/**
 * A message's NATS headers as the protocol sends them (`NATS/1.0`, then a `Key: value` line each), built
 * in one string. nats.js's MsgHdrs canonicalises and searches its keys on every `set`, which made the
 * dozen headers of each journal append a fifth of a drained delivery's allocations; publishing only ever
 * calls `encode()` on it. The checks are nats.js's own: a key of printable ASCII without a colon, a value
 * without CR or LF (trimmed, as nats.js trims it), so nothing can be smuggled into the header block; and
 * stricter: no empty name, no name twice (nats.js's `set` kept the last silently).
 */

export class InvalidHeaderError extends Error {}

const HEADER_LINE = "NATS/1.0";
const NOT_IN_KEYS = /[^!-9;-~]/;
const LINE_BREAK = /[\r\n]/;
const encoder = new TextEncoder();

/**
 * What nats.js's publish reads of a MsgHdrs: its encoded bytes, from `encode()`, which its MsgHdrsImpl has
 * and its interface does not name (test/header-block.int.test.ts holds a publish to it).
 */
export type EncodedHeaders = { encode(): Uint8Array };

export function headerBlock(entries: readonly (readonly [string, string])[]): EncodedHeaders {
  let block = HEADER_LINE;
  const names = new Set<string>();
  for (const [key, value] of entries) {
    if (key.length === 0 || NOT_IN_KEYS.test(key)) throw new InvalidHeaderError(`"${key}" is not a valid header name`);
    if (names.has(key)) throw new InvalidHeaderError(`header "${key}" is given twice`);
    names.add(key);
    if (LINE_BREAK.test(value)) throw new InvalidHeaderError(`the value of header "${key}" holds a line break`);
    block += `\r\n${key}: ${value.trim()}`;
  }
  const bytes = encoder.encode(`${block}\r\n\r\n`);
  return { encode: () => bytes };
}
