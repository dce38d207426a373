import { z } from "zod";
import { ALPHABET } from "./ids.ts";
import type { DeliveryCreated } from "./delivery-events.ts";

/**
 * What the delivery list shows and filters on, taken once from a delivery's created event, and
 * how those fields become NATS subject tokens for the index (src/nats/delivery-index.ts). Facets
 * are hashed into tokens: any string becomes a valid token of fixed length, and the index entry
 * keeps the exact values so a (rare) hash collision is filtered out when a page is read.
 */

/** The fields of a delivery that never change, as the index keeps them beside its state. */
export const ListingFieldsSchema = z.object({
  target: z.string(),
  host: z.string(),
  subscriptionId: z.string().nullable(),
  topic: z.string().nullable(),
  eventType: z.string().nullable(),
  eventId: z.string().nullable(),
  createdAt: z.string(),
  /** Only for a delivery created with an Idempotency-Key, so the list can find it by that key. */
  idempotencyKey: z.string().optional(),
});
export type ListingFields = z.infer<typeof ListingFieldsSchema>;

/** The fields a journal message's listing header carries; null when it has none or it does not parse. */
export function listingFieldsFrom(header: string | null | undefined): ListingFields | null {
  if (!header) return null;
  try {
    const parsed = ListingFieldsSchema.safeParse(JSON.parse(header));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** The filters a listing can take on those fields (all exact matches), and on time. */
export type ListingFilter = {
  state?: string;
  subscriptionId?: string;
  host?: string;
  topic?: string;
  eventType?: string;
};

/** Index entries are small: a URL longer than this is cut (the delivery itself keeps it whole). */
const TARGET_KEPT = 512;

/** The host (and port, when not the scheme's default) a target URL names, lower case; "" when it is no URL. */
export function hostOf(url: string): string {
  try {
    return new URL(url).host.toLowerCase();
  } catch {
    return "";
  }
}

export function listingFieldsOf(created: DeliveryCreated): ListingFields {
  const { request, subscriptionId, bodyRef, idempotencyKey } = created.data;
  const header = (name: string) => request.headers[name] ?? null;
  return {
    target: request.url.slice(0, TARGET_KEPT),
    host: hostOf(request.url),
    subscriptionId: subscriptionId ?? null,
    topic: header("hookd-topic"),
    eventType: header("hookd-event-type"),
    eventId: bodyRef?.eventId ?? header("hookd-event-id"),
    createdAt: created.at,
    ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
  };
}

/** "_" stands for a field a delivery does not have (a dispatch has no subscription, topic or type). */
export const NO_FACET = "_";

/**
 * FNV-1a over the UTF-16 code units, 64 bits as two 32-bit halves, written as 12 base32 characters:
 * pure, synchronous and the same on every runtime, which is all a subject token needs.
 */
export function facetToken(value: string | null): string {
  if (value === null) return NO_FACET;
  let high = 0xcbf29ce4;
  let low = 0x84222325;
  for (let i = 0; i < value.length; i++) {
    low ^= value.charCodeAt(i);
    // Multiply the 64-bit (high, low) by the FNV prime 0x100000001b3.
    const lowTimes = Math.imul(low, 0x1b3);
    const carry = Math.floor(((low >>> 0) * 0x1b3) / 0x100000000);
    high = (Math.imul(high, 0x1b3) + Math.imul(low, 0x100) + carry) | 0;
    low = lowTimes;
  }
  let token = "";
  let h = high >>> 0;
  let l = low >>> 0;
  for (let i = 0; i < 12; i++) {
    token += ALPHABET[l & 31];
    l = (l >>> 5) | ((h & 31) << 27);
    h >>>= 5;
  }
  return token;
}

/** The facet tokens of an entry, in subject order: subscription, host, topic, event type. */
export function facetTokens(fields: ListingFields): [string, string, string, string] {
  return [
    facetToken(fields.subscriptionId),
    facetToken(fields.host),
    facetToken(fields.topic),
    facetToken(fields.eventType),
  ];
}

/** The same tokens for a filter: null where the filter leaves a field open (a wildcard). */
export function filterTokens(filter: ListingFilter): [string | null, string | null, string | null, string | null] {
  const token = (value: string | undefined) => (value === undefined ? null : facetToken(value));
  return [
    token(filter.subscriptionId),
    token(filter.host?.toLowerCase()),
    token(filter.topic),
    token(filter.eventType),
  ];
}

/** Whether an entry's exact fields match the filter (the subject matched its hashes already). */
export function matchesFilter(fields: ListingFields, filter: ListingFilter): boolean {
  return (filter.subscriptionId === undefined || fields.subscriptionId === filter.subscriptionId) &&
    (filter.host === undefined || fields.host === filter.host.toLowerCase()) &&
    (filter.topic === undefined || fields.topic === filter.topic) &&
    (filter.eventType === undefined || fields.eventType === filter.eventType);
}

/**
 * What a cursor's sequence counts: a page of the index goes by index sequence, a search (found by
 * id, not read from the index) by journal sequence. The cursor says which, so one taken from a
 * search is refused on a page, and the other way round, instead of starting it somewhere unrelated.
 */
export type CursorKind = "index" | "search";
const CURSOR_PREFIXES: Record<CursorKind, string> = { index: "c1.", search: "s1." };

/** A cursor is opaque to callers: the sequence the next page starts below, and what it counts. */
export function encodeCursor(beforeSeq: number, kind: CursorKind): string {
  return CURSOR_PREFIXES[kind] + beforeSeq.toString(36);
}

/** The sequence a cursor holds and its kind; null for anything encodeCursor did not make. */
export function decodeCursor(cursor: string): { kind: CursorKind; beforeSeq: number } | null {
  const kind = (Object.keys(CURSOR_PREFIXES) as CursorKind[]).find((k) => cursor.startsWith(CURSOR_PREFIXES[k]));
  if (kind === undefined) return null;
  const digits = cursor.slice(CURSOR_PREFIXES[kind].length);
  if (!/^[0-9a-z]{1,11}$/.test(digits)) return null;
  const seq = parseInt(digits, 36);
  return Number.isSafeInteger(seq) && seq > 0 ? { kind, beforeSeq: seq } : null;
}

/** The kind of cursor a list query's pages carry: a search's when it has `q`. */
export function cursorKindOf(query: { q?: string }): CursorKind {
  return query.q === undefined ? "index" : "search";
}
