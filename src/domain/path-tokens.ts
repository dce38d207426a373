import { constantTimeEqual, toHex, utf8 } from "./bytes.ts";

/**
 * Hookbot-compatible capability tokens: the token for a path is the lowercase hex HMAC-SHA1 of the
 * path under the server key, and a token for a path ending in "/" grants everything below it.
 */

/** The scopes whose tokens grant `path`: the path itself, then every ancestor ending in "/". */
export function grantingScopes(path: string): string[] {
  const scopes = [path];
  let end = path.endsWith("/") ? path.length - 1 : path.length;
  while (end > 0) {
    const slash = path.lastIndexOf("/", end - 1);
    if (slash < 0) break;
    scopes.push(path.slice(0, slash + 1));
    end = slash;
  }
  return scopes;
}

export class PathTokens {
  readonly #key: Promise<CryptoKey>;
  // Tokens per path are pure functions of the key, so caching them is safe; the bound keeps a scan of random paths from growing memory.
  readonly #cache = new Map<string, Promise<string>>();
  static readonly CACHE_LIMIT = 10_000;

  constructor(secretKey: string) {
    this.#key = crypto.subtle.importKey("raw", utf8(secretKey), { name: "HMAC", hash: "SHA-1" }, false, ["sign"]);
  }

  tokenFor(path: string): Promise<string> {
    let token = this.#cache.get(path);
    if (token === undefined) {
      token = this.#key.then(async (key) => toHex(await crypto.subtle.sign("HMAC", key, utf8(path))));
      if (this.#cache.size >= PathTokens.CACHE_LIMIT) this.#cache.clear();
      this.#cache.set(path, token);
    }
    return token;
  }

  /** True when `token` is the token of `path` or of one of its "/"-ending ancestors. */
  async grants(path: string, token: string): Promise<boolean> {
    const candidate = token.toLowerCase();
    let granted = false;
    // Check every scope, not stopping at the first match, so timing does not reveal which scope matched.
    for (const scope of grantingScopes(path)) {
      if (constantTimeEqual(await this.tokenFor(scope), candidate)) granted = true;
    }
    return granted;
  }
}
