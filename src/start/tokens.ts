import type { Config } from "../config.ts";
import { TokenCheck } from "../domain/token-check.ts";
import type { Logger } from "../log.ts";
import { RevocationList } from "../nats/revocation-list.ts";
import { loadOrCreateKey } from "../server-key.ts";
import type { Closers } from "./closers.ts";
import type { Storage } from "./storage.ts";

/**
 * Start-up's tokens part: the revocation list, read whole from NATS before hookd serves a request (so a
 * revoked token is never let in by an instance that has just started) and followed live, and the
 * check every request's token goes through.
 */

export type TokensPart = { check: TokenCheck; revocations: RevocationList };

export async function startTokens(
  config: Config,
  storage: Storage,
  log: Logger,
  closers: Closers,
): Promise<TokensPart> {
  // Storage made the key already, so this reads it back rather than widening Storage's shape.
  const { key } = await loadOrCreateKey(config.HOOKD_DATA_DIR, config.HOOKD_KEY);
  const revocations = new RevocationList(storage);
  closers.push("token revocations", () => revocations.stop());
  await revocations.follow(log);
  const check = new TokenCheck(key, { isRevoked: (id) => revocations.has(id), clock: Date.now });
  return { check, revocations };
}
