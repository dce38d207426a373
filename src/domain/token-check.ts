import { PathTokens } from "./path-tokens.ts";
import { isRevocableToken, RevocableTokens, type RevocableVerdict } from "./revocable-tokens.ts";

/**
 * Both token forms behind one question, "does this token grant this path now?": Hookbot's (the hex
 * HMAC-SHA1 of the path, valid until the key changes) and revocable ones (`hkd1.…`, with an id, an
 * expiry and a path). The revocation set is the caller's (an in-memory copy of NATS's list), so
 * checking costs no round trip.
 */

export type TokenVerdict = RevocableVerdict;

export type TokenChecker = { check(path: string, token: string): Promise<TokenVerdict> };

export class TokenCheck implements TokenChecker {
  readonly hookbot: PathTokens;
  readonly revocable: RevocableTokens;
  readonly #isRevoked: (id: string) => boolean;
  readonly #clock: () => number;

  constructor(secretKey: string, options: { isRevoked: (id: string) => boolean; clock: () => number }) {
    this.hookbot = new PathTokens(secretKey);
    this.revocable = new RevocableTokens(secretKey);
    this.#isRevoked = options.isRevoked;
    this.#clock = options.clock;
  }

  async check(path: string, token: string): Promise<TokenVerdict> {
    if (isRevocableToken(token)) return this.revocable.check(path, token, this.#clock(), this.#isRevoked);
    return (await this.hookbot.grants(path, token)) ? "granted" : "denied";
  }
}
