import { fromBase64, toBase64, utf8 } from "./bytes.ts";
import { hmacSha256 } from "./hashes.ts";

/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com): HMAC-SHA256 over
 * "<msg id>.<timestamp seconds>.<body>", keyed by the base64 part of a "whsec_" secret.
 * Several secrets give several space-separated signatures, which is how rotation works.
 */

export const SECRET_PREFIX = "whsec_";

export function decodeSecret(secret: string): Uint8Array<ArrayBuffer> {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  const key = fromBase64(encoded);
  if (key.length < 16) throw new Error("a signing secret needs at least 16 bytes of key");
  return key;
}

export function isValidSecret(secret: string): boolean {
  try {
    decodeSecret(secret);
    return secret.startsWith(SECRET_PREFIX);
  } catch {
    return false;
  }
}

export function encodeSecret(key: Uint8Array): string {
  return SECRET_PREFIX + toBase64(key);
}

export async function signStandardWebhook(input: {
  secrets: readonly string[];
  id: string;
  timestampSeconds: number;
  body: Uint8Array;
}): Promise<string> {
  const prefix = utf8(`${input.id}.${input.timestampSeconds}.`);
  const content = new Uint8Array(prefix.length + input.body.length);
  content.set(prefix, 0);
  content.set(input.body, prefix.length);
  const signatures = await Promise.all(
    input.secrets.map(async (secret) => {
      return `v1,${toBase64(await hmacSha256("whsec", secret, () => decodeSecret(secret), content))}`;
    }),
  );
  return signatures.join(" ");
}
