import { toHex, utf8 } from "./bytes.ts";
import { hmacSha256 } from "./hashes.ts";

/**
 * WebSub's authenticated content distribution (W3C WebSub §8): X-Hub-Signature is
 * "sha256=" and the hex HMAC-SHA256 of the body, keyed by the subscriber's hub.secret as given.
 */
export async function signWebSub(secret: string, body: Uint8Array<ArrayBuffer> | Uint8Array): Promise<string> {
  return `sha256=${toHex(await hmacSha256("websub", secret, () => utf8(secret), body))}`;
}
