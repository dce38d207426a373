import { ulid } from "../domain/ids.ts";
import type { StaticConfig, StaticSubscription } from "../domain/static-config.ts";
import type { SubscriptionConfig } from "../domain/subscription-events.ts";
import { subscriptionConfigOf } from "../domain/subscription-settings.ts";
import { parseTopic } from "../domain/topic-name.ts";
import type { Logger } from "../log.ts";
import { JournalConflictError } from "../nats/journal.ts";
import type { SubscriptionCommands } from "./subscription-commands.ts";
import type { SubscriptionDirectory } from "./subscription-directory.ts";

/**
 * Brings the subscriptions declared in the config file into being at start: new ones are
 * created, changed ones updated, re-added ones re-activated, and ones no longer in the file
 * deactivated (not deleted, so their history stays and putting them back resumes them).
 */

export const REMOVED_FROM_FILE = "removed from the config file";

/** A static subscription's id comes from its name, so every instance and every restart agree on it. */
export async function staticSubscriptionId(name: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`config:${name}`)));
  return "sub_" + ulid(0, digest.subarray(0, 10));
}

function desiredConfig(entry: StaticSubscription): SubscriptionConfig {
  const { topic, recursive } = parseTopic(entry.topic, { allowRecursive: true });
  const secrets = entry.secret ? [{ secret: entry.secret, expiresAt: null }] : [];
  const settings = { ...entry, metadata: { ...entry.metadata, config_name: entry.name } };
  return subscriptionConfigOf({ topic, recursive, url: entry.url, secrets, source: "config" }, settings);
}

/** The config with `ordered` as given, stored only when true (as subscriptionConfigOf does). */
function keepOrdered(config: SubscriptionConfig, ordered: boolean): SubscriptionConfig {
  const { ordered: _dropped, ...rest } = config;
  return ordered ? { ...rest, ordered: true } : rest;
}

export async function syncStaticSubscriptions(
  config: StaticConfig,
  deps: { subscriptions: SubscriptionCommands; directory: SubscriptionDirectory; log: Logger },
): Promise<{ created: number; updated: number; deactivated: number }> {
  const counts = { created: 0, updated: 0, deactivated: 0 };
  const wanted = new Set<string>();
  for (const entry of config.subscriptions) {
    const id = await staticSubscriptionId(entry.name);
    wanted.add(id);
    let desired = desiredConfig(entry);
    let existing = await deps.subscriptions.find(id);
    if (!existing) {
      try {
        await deps.subscriptions.create(desired, { id });
        counts.created++;
        continue;
      } catch (error) {
        // Another instance created it at the same moment: carry on with its version.
        if (!(error instanceof JournalConflictError)) throw error;
        existing = await deps.subscriptions.find(id);
      }
    }
    if (!existing) continue;
    if (existing.state === "unsubscribed") {
      deps.log.warn(
        { name: entry.name, id },
        "a subscription from the config file was deleted through the API; rename it in the file to create it again",
      );
      continue;
    }
    if ((existing.config.ordered === true) !== (desired.ordered === true)) {
      deps.log.warn(
        { name: entry.name, id, ordered: existing.config.ordered === true },
        "ordered is fixed when a subscription is created; rename it in the file to create it again with the other value",
      );
      desired = keepOrdered(desired, existing.config.ordered === true);
    }
    if (JSON.stringify(existing.config) !== JSON.stringify(desired)) {
      await deps.subscriptions.update(id, () => ({ config: desired, changed: ["config file"] }));
      counts.updated++;
    }
    if (existing.state === "paused" && existing.context.statusMessage === `paused: ${REMOVED_FROM_FILE}`) {
      await deps.subscriptions.activate(id);
      counts.updated++;
    }
  }
  for (const target of [...deps.directory.index.all()]) {
    const { config: current, state } = target.subscription;
    if (current.source !== "config" || wanted.has(target.id) || state !== "active") continue;
    await deps.subscriptions.deactivate(target.id, REMOVED_FROM_FILE);
    counts.deactivated++;
  }
  return counts;
}
