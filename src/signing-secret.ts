import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { isValidSecret } from "./domain/sign-standard-webhooks.ts";

/**
 * The signing secret hookd makes when HOOKD_SIGNING_SECRET is unset, as kept in the data folder. The
 * copy that counts is in NATS, shared by every instance (src/start/signing-secret.ts); this one is where
 * `hookd secret` reads it without a NATS connection, and what hookd offers NATS again if NATS has lost
 * its own. Small and free of the server's imports, because the CLI bundles it.
 */

/** HOOKD_SIGNING_SECRET's value that turns signing off for deliveries that bring no secret of their own. */
export const SIGNING_OFF = "off";

export const SIGNING_SECRET_FILE = "signing.secret";

export const signingSecretPath = (dataDir: string): string => join(dataDir, SIGNING_SECRET_FILE);

/** The secret in the data folder; null when there is none, or the file holds no whsec_ secret. */
export async function readSigningSecretFile(dataDir: string): Promise<string | null> {
  const text = (await readFile(signingSecretPath(dataDir), "utf8").catch(() => "")).trim();
  return isValidSecret(text) ? text : null;
}

export async function writeSigningSecretFile(dataDir: string, secret: string): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  const file = signingSecretPath(dataDir);
  // Written beside the file and renamed over it, so a reader never sees half a secret.
  const temporary = `${file}.${crypto.randomUUID()}.tmp`;
  await writeFile(temporary, secret + "\n", { mode: 0o600 });
  await rename(temporary, file);
}
