import type { Dialect } from "../domain/signing-dialect.ts";
import { rotatedSecrets } from "../domain/subscription-secret.ts";
import type { StoredSubscription } from "../nats/subscription-store.ts";
import type { SubscriptionCommands } from "./subscription-commands.ts";

/**
 * A subscription signs with a new secret; the old ones keep signing until `graceUntil`. Shared by
 * the API (POST …/rotate-secret) and the console, which differ only in where the new secret comes
 * from and in how a plain (unsigned) subscription is refused.
 */
export async function rotateSubscriptionSecret(
  commands: SubscriptionCommands,
  id: string,
  options: {
    graceUntil: number;
    now: () => number;
    choose: (dialect: Exclude<Dialect, "plain">) => string;
    refusePlain: () => Error;
  },
): Promise<{ subscription: StoredSubscription; secret: string }> {
  let secret = "";
  const subscription = await commands.update(id, (config) => {
    if (config.dialect === "plain") throw options.refusePlain();
    secret = options.choose(config.dialect);
    const secrets = rotatedSecrets(config.secrets, secret, options.graceUntil, options.now());
    return { config: { ...config, secrets }, changed: ["secret"] };
  });
  return { subscription, secret };
}
