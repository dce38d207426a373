import { sealedKeyId, type SecretBox, SecretBoxError } from "../domain/secret-box.ts";
import { type Journal, JournalConflictError } from "../nats/journal.ts";
import type { SubscriptionStore } from "../nats/subscription-store.ts";
import { type SubscriptionCommands, SubscriptionNotFoundError } from "./subscription-commands.ts";

/**
 * After a key rotation (HOOKD_SECRETS_KEY new, the old one in HOOKD_SECRETS_KEY_PREVIOUS), seals
 * under the new key every secret hookd will open again: each subscription's current entry and the
 * shared signing secret. Each subscription's older journal entries are purged, since they hold its
 * secrets under the old key (or plain, from before sealing): its current entry is all hookd reads. Deliveries are not re-sealed: a created event is never rewritten, so a
 * delivery made before the rotation opens with the key it was made under for as long as its journal
 * is kept (HOOKD_JOURNAL_MAX_AGE), which is what the report's date says.
 */

export type ResealReport = {
  key_id: string;
  subscriptions: { checked: number; resealed: number; older_entries_dropped: number; unopenable: string[] };
  signing_secret: "resealed" | "current" | "none";
  /** Until then a delivery made before now may still need the previous keys (a retry, a manual retry). */
  previous_keys_needed_until: string;
};

export type ResealDeps = {
  box: SecretBox;
  store: SubscriptionStore;
  commands: SubscriptionCommands;
  /** Where the shared signing secret is kept, when hookd made one (it may be there even when this instance has its own). */
  signingSetting: { journal: Journal; subject: string; owner: string; dropOlderEntries(): Promise<number> };
  clock: () => number;
  journalMaxAgeMs: number;
};

export async function resealSecrets(deps: ResealDeps): Promise<ResealReport> {
  const ids = await deps.store.ids();
  const counts = { checked: ids.length, resealed: 0, older_entries_dropped: 0 };
  const unopenable: string[] = [];
  for (const id of ids) {
    try {
      if (await deps.store.needsReseal(id)) {
        await deps.commands.reseal(id);
        counts.resealed++;
      }
      counts.older_entries_dropped += await deps.store.dropOlderEntries(id);
    } catch (error) {
      // Under a key this instance lacks: the others still get their turn, and the report names it.
      if (error instanceof SecretBoxError) unopenable.push(id);
      // Purged between the listing and the write: nothing left to seal.
      else if (!(error instanceof SubscriptionNotFoundError)) throw error;
    }
  }
  return {
    key_id: deps.box.keyId,
    subscriptions: { ...counts, unopenable },
    signing_secret: await resealSetting(deps),
    previous_keys_needed_until: new Date(deps.clock() + deps.journalMaxAgeMs).toISOString(),
  };
}

async function resealSetting(deps: ResealDeps): Promise<ResealReport["signing_secret"]> {
  const { journal, subject, owner } = deps.signingSetting;
  const stored = await journal.readLast(subject);
  if (!stored) return "none";
  const text = new TextDecoder().decode(stored.data);
  if (sealedKeyId(text) === deps.box.keyId) return "current";
  const sealed = await deps.box.seal(await deps.box.open(text, owner), owner);
  try {
    await journal.append(subject, sealed, { expectedSeq: stored.seq });
    // The entries before it hold the same secret under the old key.
    await deps.signingSetting.dropOlderEntries();
    return "resealed";
  } catch (error) {
    // Another instance re-sealed it meanwhile: look again.
    if (!(error instanceof JournalConflictError)) throw error;
    return resealSetting(deps);
  }
}
