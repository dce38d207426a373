import { toHex, utf8 } from "./bytes.ts";
import { hmacKey } from "./hmac-keys.ts";

/**
 * WebSub's authenticated content distribution (W3C WebSub §8): X-Hub-Signature is
 * "sha256=" and the hex HMAC-SHA256 of the body, keyed by the subscriber's hub.secret as given.
 */
export async function signWebSub(secret: string, body: Uint8Array<ArrayBuffer> | Uint8Array): Promise<string> {
  const key = await hmacKey("websub", secret, () => utf8(secret));
  return `sha256=${toHex(await crypto.subtle.sign("HMAC", key, body as Uint8Array<ArrayBuffer>))}`;
}
