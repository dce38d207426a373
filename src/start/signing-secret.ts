import type { JetStreamManager } from "@nats-io/jetstream";
import type { Config } from "../config.ts";
import { isValidSecret } from "../domain/sign-standard-webhooks.ts";
import { generateSecret } from "../domain/subscription-secret.ts";
import type { SecretBox } from "../domain/secret-box.ts";
import type { Logger } from "../log.ts";
import type { JetStreamPublisher } from "../nats/jetstream-publisher.ts";
import { Journal } from "../nats/journal.ts";
import type { JetStreamLayout } from "../nats/layout.ts";
import { agreeOnSetting } from "../nats/shared-setting.ts";
import { readSigningSecretFile, SIGNING_OFF, signingSecretPath, writeSigningSecretFile } from "../signing-secret.ts";

/**
 * The secret that signs a delivery which brings none of its own (/dispatch, POST /api/v1/deliveries):
 * HOOKD_SIGNING_SECRET; none when it is "off"; otherwise the one every instance on this NATS shares.
 * Ingest copies it into each delivery, so instances that signed with different secrets would have
 * receivers see both: the first instance to start stores its offer (this data folder's secret, or a
 * new one) in NATS, and every instance uses and mirrors whatever NATS holds.
 */

export type SigningSecret = {
  /** null: deliveries without a secret of their own go out unsigned. */
  secret: string | null;
  /** True when hookd made it (or took it from NATS), so start-up says how to read it. */
  generated: boolean;
};

export const SIGNING_SECRET_SETTING = "signing-secret";

export async function chooseSigningSecret(
  config: Config,
  nats: { jsm: JetStreamManager; publisher: JetStreamPublisher; layout: JetStreamLayout; box: SecretBox },
  log: Logger,
): Promise<SigningSecret> {
  if (config.HOOKD_SIGNING_SECRET === SIGNING_OFF) {
    log.info("HOOKD_SIGNING_SECRET=off: deliveries without a secret of their own go out unsigned");
    return { secret: null, generated: false };
  }
  if (config.HOOKD_SIGNING_SECRET) return { secret: config.HOOKD_SIGNING_SECRET, generated: false };
  const dataDir = config.HOOKD_DATA_DIR;
  const local = await readSigningSecretFile(dataDir);
  const journal = new Journal(nats.jsm, nats.layout.streams.settings, nats.publisher);
  const subject = nats.layout.subjects.setting(SIGNING_SECRET_SETTING);
  // Sealed in NATS like every other secret; a copy stored before sealing reads as is.
  const offer = await nats.box.seal(local ?? generateSecret("standard-webhooks"), SIGNING_SECRET_SETTING);
  const shared = await nats.box.open(await agreeOnSetting(journal, subject, offer), SIGNING_SECRET_SETTING);
  if (!isValidSecret(shared)) {
    throw new Error(`the signing secret stored in NATS (${subject}) is not a whsec_ secret; delete it or set one`);
  }
  if (local !== shared) {
    if (local !== null) {
      log.warn(
        { file: signingSecretPath(dataDir) },
        "this data folder's signing secret differs from the one the instances on this NATS share; " +
          "using and keeping the shared one",
      );
    }
    await writeSigningSecretFile(dataDir, shared);
  }
  return { secret: shared, generated: true };
}
