import { sealedKeyId, type SecretBox } from "../domain/secret-box.ts";
import { type Journal, JournalConflictError } from "../nats/journal.ts";
import type { SubscriptionStore } from "../nats/subscription-store.ts";
import { type SubscriptionCommands, SubscriptionNotFoundError } from "./subscription-commands.ts";

/**
 * After a key rotation (HOOKD_SECRETS_KEY new, the old one in HOOKD_SECRETS_KEY_PREVIOUS), seals
 * under the new key every secret hookd will open again: each subscription's current entry and the
 * shared signing secret. Deliveries are not re-sealed: a created event is never rewritten, so a
 * delivery made before the rotation opens with the key it was made under for as long as its journal
 * is kept (HOOKD_JOURNAL_MAX_AGE), which is what the report's date says.
 */

export type ResealReport = {
  key_id: string;
  subscriptions: { checked: number; resealed: number };
  signing_secret: "resealed" | "current" | "none";
  /** Until then a delivery made before now may still need the previous keys (a retry, a manual retry). */
  previous_keys_needed_until: string;
};

export type ResealDeps = {
  box: SecretBox;
  store: SubscriptionStore;
  commands: SubscriptionCommands;
  /** The shared signing secret's setting, when hookd made one. */
  signingSetting: { journal: Journal; subject: string; owner: string } | null;
  clock: () => number;
  journalMaxAgeMs: number;
};

export async function resealSecrets(deps: ResealDeps): Promise<ResealReport> {
  const ids = await deps.store.ids();
  let resealed = 0;
  for (const id of ids) {
    if (!(await deps.store.needsReseal(id))) continue;
    try {
      await deps.commands.reseal(id);
      resealed++;
    } catch (error) {
      // Purged between the listing and the write: nothing left to seal.
      if (!(error instanceof SubscriptionNotFoundError)) throw error;
    }
  }
  return {
    key_id: deps.box.keyId,
    subscriptions: { checked: ids.length, resealed },
    signing_secret: await resealSetting(deps),
    previous_keys_needed_until: new Date(deps.clock() + deps.journalMaxAgeMs).toISOString(),
  };
}

async function resealSetting(deps: ResealDeps): Promise<ResealReport["signing_secret"]> {
  if (!deps.signingSetting) return "none";
  const { journal, subject, owner } = deps.signingSetting;
  const stored = await journal.readLast(subject);
  if (!stored) return "none";
  const text = new TextDecoder().decode(stored.data);
  if (sealedKeyId(text) === deps.box.keyId) return "current";
  const sealed = await deps.box.seal(await deps.box.open(text, owner), owner);
  try {
    await journal.append(subject, sealed, { expectedSeq: stored.seq });
    return "resealed";
  } catch (error) {
    // Another instance re-sealed it meanwhile: look again.
    if (!(error instanceof JournalConflictError)) throw error;
    return resealSetting(deps);
  }
}
