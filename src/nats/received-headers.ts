import type { JsMsg } from "@nats-io/jetstream";

/**
 * The headers of a received JetStream message, read from its header block as NATS sent it. nats.js's
 * `headers` decodes the whole block into a MsgHdrs, canonicalising and searching its keys on every
 * line it adds and again on every `get`: for the indexer, which reads two headers of every journal
 * message, that was one of the two largest shares of a drained delivery's allocations (5.5 of 86.5 KB).
 * Here the block is decoded once, and `get` reads as nats.js's `get` does (an exact name, its first
 * value, trimmed, "" when absent) from the block's text. The block's bytes are nats.js's own fields,
 * which its types do not name; where they are missing (another nats.js), `headers` answers instead,
 * and test/received-headers.int.test.ts fails so that the upgrade is seen.
 */
export function receivedHeaders(message: JsMsg): { get(name: string): string } {
  const block = headerBlockOf(message);
  if (block === null) return { get: (name) => message.headers?.get(name) ?? "" };
  return { get: (name) => valueIn(block, name) };
}

function valueIn(block: string, name: string): string {
  // Every header line follows a CRLF: the block opens with its `NATS/1.0` line, and no value holds one.
  const start = block.indexOf(`\r\n${name}:`);
  if (start < 0) return "";
  const from = start + name.length + 3;
  const end = block.indexOf("\r\n", from);
  return block.slice(from, end < 0 ? undefined : end).trim();
}

const decoder = new TextDecoder();

/** What nats.js keeps of a received message: the bytes of its header block and body, and where the block ends. */
type RawMessage = { _rdata?: unknown; _msg?: { hdr?: unknown } };

/** The message's header block as text; "" when it has none; null when nats.js keeps it elsewhere than expected. */
export function headerBlockOf(message: JsMsg): string | null {
  const raw = (message as unknown as { msg?: RawMessage }).msg;
  const end = raw?._msg?.hdr;
  if (typeof end !== "number" || !(raw?._rdata instanceof Uint8Array)) return null;
  return end > 0 ? decoder.decode(raw._rdata.subarray(0, end)) : "";
}
