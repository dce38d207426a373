import { fromBase64Url, toBase64Url, utf8 } from "./bytes.ts";
import { grantingScopes } from "./path-tokens.ts";

/**
 * Revocable tokens: `hkd1.<id>.<expiry>.<path>.<mac>`, where expiry is unix seconds (0: never), path is
 * the granted path as base64url, and mac is the base64url HMAC-SHA256 of `hkd1|<id>|<expiry>|<path>`
 * under the server key. Unlike a Hookbot token, one of these says which id and expiry it carries, so
 * a single token can be refused (its id revoked) without changing the key and losing every token.
 * The path grants as Hookbot's do: itself, and everything below it when it ends in "/".
 */

export const REVOCABLE_PREFIX = "hkd1";
/** Ids are one NATS subject token and one URL user-name segment: letters, digits, "-" and "_". */
export const TOKEN_ID_PATTERN = /^[A-Za-z0-9_-]{8,64}$/;
const SHAPE = /^hkd1\.([A-Za-z0-9_-]{8,64})\.(0|[1-9][0-9]{0,11})\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{43})$/;

export type RevocableToken = { id: string; expiresAt: number | null; path: string };

/** What a token says about itself, unverified; null for anything not shaped like a revocable token. */
export function parseRevocableToken(token: string): (RevocableToken & { mac: string }) | null {
  const match = SHAPE.exec(token);
  if (!match) return null;
  const [, id, expiry, encodedPath, mac] = match as unknown as [string, string, string, string, string];
  let path: string;
  try {
    path = new TextDecoder("utf-8", { fatal: true }).decode(fromBase64Url(encodedPath));
  } catch {
    return null;
  }
  if (!path.startsWith("/")) return null;
  const seconds = Number(expiry);
  return { id, expiresAt: seconds === 0 ? null : seconds * 1000, path, mac };
}

export function isRevocableToken(token: string): boolean {
  return token.startsWith(`${REVOCABLE_PREFIX}.`);
}

/** A new token id: 96 random bits, so ids never collide and cannot be guessed to revoke others' tokens in bulk. */
export function newTokenId(): string {
  return toBase64Url(crypto.getRandomValues(new Uint8Array(12)));
}

/** What a verified token grants or why it does not. */
export type RevocableVerdict = "granted" | "denied" | "expired" | "revoked";

export class RevocableTokens {
  readonly #key: Promise<CryptoKey>;

  constructor(secretKey: string) {
    this.#key = crypto.subtle.importKey("raw", utf8(secretKey), { name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
      "verify",
    ]);
  }

  /** `expiresAt` in epoch milliseconds, rounded up to whole seconds; null never expires. */
  async issue(path: string, expiresAt: number | null, id = newTokenId()): Promise<string> {
    if (!path.startsWith("/")) throw new Error(`"${path}" is not a path: paths start with /`);
    if (!TOKEN_ID_PATTERN.test(id)) throw new Error(`"${id}" is not a token id`);
    const expiry = expiresAt === null ? "0" : String(Math.max(1, Math.ceil(expiresAt / 1000)));
    const encodedPath = toBase64Url(utf8(path));
    const signed = signedMaterial(id, expiry, encodedPath);
    const mac = new Uint8Array(await crypto.subtle.sign("HMAC", await this.#key, utf8(signed)));
    return `${signed.replaceAll("|", ".")}.${toBase64Url(mac)}`;
  }

  /**
   * The token as issued under this key, or null when it is not one (malformed, tampered with, another
   * key). The MAC is checked with crypto.subtle.verify, which compares in constant time.
   */
  async verify(token: string): Promise<RevocableToken | null> {
    const parsed = parseRevocableToken(token);
    if (!parsed) return null;
    const [, , expiry, encodedPath] = token.split(".") as [string, string, string, string];
    const material = utf8(signedMaterial(parsed.id, expiry, encodedPath));
    const ok = await crypto.subtle.verify("HMAC", await this.#key, fromBase64Url(parsed.mac), material);
    return ok ? { id: parsed.id, expiresAt: parsed.expiresAt, path: parsed.path } : null;
  }

  /**
   * Whether `token` grants `path` at `now` (epoch ms). Revoked and expired are only said of a token this
   * key signed, and before the path is compared, so the answer never tells which path a token grants.
   */
  async check(path: string, token: string, now: number, isRevoked: (id: string) => boolean): Promise<RevocableVerdict> {
    const verified = await this.verify(token);
    if (!verified) return "denied";
    if (isRevoked(verified.id)) return "revoked";
    if (verified.expiresAt !== null && now >= verified.expiresAt) return "expired";
    return grantingScopes(path).includes(verified.path) ? "granted" : "denied";
  }
}

function signedMaterial(id: string, expiry: string, encodedPath: string): string {
  return [REVOCABLE_PREFIX, id, expiry, encodedPath].join("|");
}
