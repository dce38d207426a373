import { createHash, createHmac } from "node:crypto";
import type { Hashes } from "./domain/hashes.ts";

/** Node's synchronous SHA-256 and HMAC-SHA256, which src/main.node.ts installs (src/domain/hashes.ts says why). */

/** The digest's bytes as a plain Uint8Array, as Web Crypto's come (a Buffer prints and compares otherwise). */
const bytesOf = (digest: Buffer) => new Uint8Array(digest.buffer, digest.byteOffset, digest.byteLength);

// Async as the port is: a key that cannot be made (a malformed secret) rejects, as it does under Web Crypto.
export const nodeHashes: Hashes = {
  sha256: async (data) => bytesOf(createHash("sha256").update(data).digest()),
  hmacSha256: async (_label, _raw, key, data) => bytesOf(createHmac("sha256", key()).update(data).digest()),
};
