import { createHash, createHmac } from "node:crypto";
import type { Hashes } from "./domain/hashes.ts";

/** Node's synchronous SHA-256 and HMAC-SHA256, which src/main.node.ts installs (src/domain/hashes.ts says why). */

/** The digest's bytes as a plain Uint8Array, as Web Crypto's come (a Buffer prints and compares otherwise). */
const bytesOf = (digest: Buffer) => new Uint8Array(digest.buffer, digest.byteOffset, digest.byteLength);

export const nodeHashes: Hashes = {
  sha256: (data) => Promise.resolve(bytesOf(createHash("sha256").update(data).digest())),
  hmacSha256: (_label, _raw, key, data) => Promise.resolve(bytesOf(createHmac("sha256", key()).update(data).digest())),
};
