import { RecentPromises } from "./recent-promises.ts";

/**
 * HMAC-SHA256 signing keys, imported once per secret: importing costs about as much as signing a
 * small body, and a delivery is signed with the same few secrets (the server's default, a
 * subscription's) over and over.
 */

/** Distinct secrets kept, least recently used dropped first (only a cache: a miss imports again). */
const keys = new RecentPromises<string, CryptoKey>(4_096);

/** `raw` names the key bytes; `label` tells apart encodings of the same text (whsec_ base64 or WebSub's as-is). */
export function hmacKey(label: string, raw: string, bytes: () => Uint8Array<ArrayBuffer>): Promise<CryptoKey> {
  // A failed import (a malformed secret) is not kept: the next call tries and fails again, as before.
  return keys.get(
    `${label}:${raw}`,
    () => crypto.subtle.importKey("raw", bytes(), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]),
  );
}
