import { TokenCheck } from "../domain/token-check.ts";
import type { Logger } from "../log.ts";
import { RevocationList } from "../nats/revocation-list.ts";
import type { Closers } from "./closers.ts";
import type { Storage } from "./storage.ts";

/**
 * Start-up's tokens part: the revocation list, read whole from NATS before hookd serves a request (so a
 * revoked token is never let in by an instance that has just started) and followed live, and the
 * check every request's token goes through.
 */

export type TokensPart = { check: TokenCheck; revocations: RevocationList };

export async function startTokens(
  storage: Storage,
  log: Logger,
  closers: Closers,
): Promise<TokensPart> {
  const revocations = new RevocationList(storage);
  closers.push("token revocations", () => revocations.stop());
  await revocations.follow(log);
  const check = new TokenCheck(storage.key, { isRevoked: (id) => revocations.has(id), clock: Date.now });
  return { check, revocations };
}
