/**
 * HMAC-SHA256 signing keys, imported once per secret: importing costs about as much as signing a
 * small body, and a delivery is signed with the same few secrets (the server's default, a
 * subscription's) over and over.
 */

/** Distinct secrets kept, least recently used dropped first (only a cache: a miss imports again). */
const KEPT = 4_096;
const keys = new Map<string, Promise<CryptoKey>>();

/** `raw` names the key bytes; `label` tells apart encodings of the same text (whsec_ base64 or WebSub's as-is). */
export function hmacKey(label: string, raw: string, bytes: () => Uint8Array<ArrayBuffer>): Promise<CryptoKey> {
  const name = `${label}:${raw}`;
  const known = keys.get(name);
  if (known) {
    // Most recently used last, so the oldest goes first when the cache is full.
    keys.delete(name);
    keys.set(name, known);
    return known;
  }
  if (keys.size >= KEPT) keys.delete(keys.keys().next().value!);
  const key = crypto.subtle.importKey("raw", bytes(), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  // A failed import (a malformed secret) is not kept: the next call tries and fails again, as before.
  key.catch(() => keys.delete(name));
  keys.set(name, key);
  return key;
}
