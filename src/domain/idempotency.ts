import { toHex, utf8 } from "./bytes.ts";
import type { DeliveryCreated } from "./delivery-events.ts";

/**
 * What an Idempotency-Key promises, as Stripe does it: the same key with the same request answers
 * the first request's result again; the same key with a different request is refused, naming what
 * differs, instead of quietly answering the first one. JetStream's msgID dedupe finds the first
 * request; these decide whether the second one is the same.
 */

export type IdempotentResource = "delivery" | "event";

export class IdempotencyKeyReusedError extends Error {
  constructor(
    readonly key: string,
    readonly resource: IdempotentResource,
    /** The parts of the request that differ from the first one with this key, in the API's names. */
    readonly conflicts: readonly string[],
  ) {
    super(
      `Idempotency-Key "${key}" was first used for a ${resource === "delivery" ? "delivery" : "publish"} ` +
        `with a different ${conflicts.join(" and ")}.`,
    );
  }
}

/** A delivery request as its sender made it; the secret is the one the request named, not the server's default. */
export type DeliveryFingerprintInput = {
  source: string;
  request: DeliveryCreated["data"]["request"];
  givenSecrets: readonly string[];
};

function canonicalOf(input: DeliveryFingerprintInput): string {
  const { source, request, givenSecrets } = input;
  const headers = Object.entries(request.headers).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([source, request.method, request.url, headers, request.body, givenSecrets]);
}

/** The plain SHA-256 digest hookd stored before keyed ones: still recognised, never written. */
export async function deliveryRequestDigest(input: DeliveryFingerprintInput): Promise<string> {
  return toHex(await crypto.subtle.digest("SHA-256", utf8(canonicalOf(input))));
}

/**
 * Every digest that names this request: keyed (`hmac:…`, since the request holds its secret, a plain
 * digest in NATS would let a dump be guessed against), under the current key first, which is the one
 * stored, then the previous keys' and the legacy plain one, so a first request stored before a key
 * rotation or an upgrade is still recognised.
 */
export async function deliveryRequestDigests(
  input: DeliveryFingerprintInput,
  fingerprints: (text: string) => Promise<string[]>,
): Promise<string[]> {
  const keyed = (await fingerprints(canonicalOf(input))).map((mac) => `hmac:${mac}`);
  return [...keyed, await deliveryRequestDigest(input)];
}

const sameHeaders = (a: Record<string, string>, b: Record<string, string>) =>
  Object.keys(a).length === Object.keys(b).length && Object.entries(a).every(([name, value]) => b[name] === value);

/**
 * What differs between the first keyed delivery and a second request with its key: empty when
 * they are the same request. A first delivery stored without a digest (before hookd kept one) is
 * compared by its request alone.
 */
export function deliveryConflicts(
  first: DeliveryCreated["data"],
  again: DeliveryCreated["data"],
  /** Every digest naming the second request (deliveryRequestDigests); by default the one it carries. */
  againDigests: readonly (string | undefined)[] = [again.requestDigest],
): string[] {
  // The report URLs are not part of the digest (deliveries keyed before them have none): compared as they are.
  const reports = [
    ...(first.callbackUrl !== again.callbackUrl ? ["callback_url"] : []),
    ...(first.errbackUrl !== again.errbackUrl ? ["errback_url"] : []),
  ];
  if (first.requestDigest !== undefined && againDigests.includes(first.requestDigest)) return reports;
  const conflicts: string[] = [];
  if (first.request.url !== again.request.url) conflicts.push("url");
  if (first.request.method !== again.request.method) conflicts.push("method");
  if (!sameHeaders(first.request.headers, again.request.headers)) conflicts.push("headers");
  if (first.request.body !== again.request.body) conflicts.push("body");
  if (first.source !== again.source) conflicts.push("endpoint");
  // Only the digest tells secrets apart: the stored secrets may be the server's default, not the request's own.
  if (conflicts.length === 0 && first.requestDigest !== undefined) conflicts.push("secret");
  return [...conflicts, ...reports];
}

/** A published event as stored, for comparing a repeated publish with the first one under its key. */
export type PublishedFields = { body: Uint8Array; contentType: string | null; type: string | null };

export function publishConflicts(first: PublishedFields, again: PublishedFields): string[] {
  const conflicts: string[] = [];
  const sameBody = first.body.length === again.body.length && first.body.every((byte, i) => byte === again.body[i]);
  if (!sameBody) conflicts.push("body");
  if (first.contentType !== again.contentType) conflicts.push("content_type");
  if (first.type !== again.type) conflicts.push("type");
  return conflicts;
}
