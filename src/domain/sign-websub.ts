import { toHex, utf8 } from "./bytes.ts";

/**
 * WebSub's authenticated content distribution (W3C WebSub §8): X-Hub-Signature is
 * "sha256=" and the hex HMAC-SHA256 of the body, keyed by the subscriber's hub.secret as given.
 */
export async function signWebSub(secret: string, body: Uint8Array<ArrayBuffer> | Uint8Array): Promise<string> {
  const key = await crypto.subtle.importKey("raw", utf8(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return `sha256=${toHex(await crypto.subtle.sign("HMAC", key, body as Uint8Array<ArrayBuffer>))}`;
}
