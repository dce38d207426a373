import { createCipheriv, createDecipheriv, createSecretKey } from "node:crypto";
import type { AesGcm } from "./domain/aes-gcm.ts";

/** Node's synchronous AES-256-GCM, which src/main.node.ts installs (src/domain/aes-gcm.ts says why). */

const TAG_BYTES = 16;

/**
 * The parts joined into bytes of their own, as Web Crypto's are, and the parts wiped. Not Buffer.concat:
 * a small Buffer is a slice of a pool shared with every other small Buffer, whose `.buffer` would show an
 * opened secret to whoever holds one of them, and go on holding it until overwritten.
 */
function joined(parts: readonly Buffer[]): Uint8Array {
  const bytes = new Uint8Array(parts.reduce((length, part) => length + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.length;
    part.fill(0);
  }
  return bytes;
}

// Async as the port is: a text that does not open rejects, as it does under Web Crypto.
export const nodeAesGcm: AesGcm = async (raw) => {
  if (raw.length !== 32) throw new Error(`an AES-256 key has 32 bytes, not ${raw.length}`);
  // A KeyObject keeps the key out of the JavaScript heap (and out of Buffer's shared pool).
  const key = createSecretKey(raw);
  return {
    async seal(nonce, additionalData, plain) {
      const cipher = createCipheriv("aes-256-gcm", key, nonce);
      cipher.setAAD(additionalData);
      return joined([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    },
    async open(nonce, additionalData, sealed) {
      if (sealed.length < TAG_BYTES) throw new Error("a sealed text shorter than its tag");
      const decipher = createDecipheriv("aes-256-gcm", key, nonce, { authTagLength: TAG_BYTES });
      decipher.setAAD(additionalData);
      decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
      return joined([decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES)), decipher.final()]);
    },
  };
};
