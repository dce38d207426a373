import { toBase64, utf8 } from "./bytes.ts";
import { encodeSecret, isValidSecret } from "./sign-standard-webhooks.ts";
import type { Dialect } from "./signing-dialect.ts";
import type { SubscriptionConfig } from "./subscription-events.ts";
import { MAX_SECRET_BYTES } from "./websub.ts";

/**
 * The secret a subscription signs with, by dialect: Standard Webhooks takes whsec_ and base64 of 16
 * to 64 bytes, WebSub 1 to 199 bytes (its hub.secret bound), plain takes none. An API caller may
 * leave it out and gets one made (the answer shows it once); a config file must name it, since its
 * receiver has to know it already, and has never been held to WebSub's bound.
 */

export type SecretSource = "api" | "config";

const NOT_SIGNED = "a plain subscription is not signed: leave out secret, or choose another dialect";
const STANDARD_WEBHOOKS_FORM = "secret must be a Standard Webhooks secret: whsec_ followed by base64 of 16 to 64 bytes";
const WEBSUB_BOUNDS = `a WebSub secret must be 1 to ${MAX_SECRET_BYTES} bytes`;
const NEEDED_IN_FILE = {
  "standard-webhooks": "needs a Standard Webhooks secret (whsec_…): the receiver must know it",
  websub: "needs the subscriber's secret",
} as const;

/** What is wrong with `secret` for a subscription in `dialect`, or null when it will do (or one can be made). */
export function secretProblem(dialect: Dialect, secret: string | undefined, source: SecretSource): string | null {
  if (dialect === "plain") return secret === undefined ? null : NOT_SIGNED;
  const fromApi = source === "api";
  if (secret === undefined) return fromApi ? null : NEEDED_IN_FILE[dialect];
  if (dialect === "standard-webhooks") {
    if (isValidSecret(secret)) return null;
    return fromApi ? `${STANDARD_WEBHOOKS_FORM} (or leave it out to get one)` : NEEDED_IN_FILE[dialect];
  }
  if (secret.length === 0) return fromApi ? WEBSUB_BOUNDS : NEEDED_IN_FILE[dialect];
  return fromApi && utf8(secret).length > MAX_SECRET_BYTES ? WEBSUB_BOUNDS : null;
}

/** A fresh secret in the dialect's form: 24 random bytes, as whsec_… for Standard Webhooks, as base64 for WebSub. */
export function generateSecret(dialect: Exclude<Dialect, "plain">): string {
  const key = crypto.getRandomValues(new Uint8Array(24));
  return dialect === "standard-webhooks" ? encodeSecret(key) : toBase64(key);
}

type Secrets = SubscriptionConfig["secrets"];

/** The secrets after a rotation: the new one first; the old ones sign beside it until `graceUntil`; expired ones go. */
export function rotatedSecrets(secrets: Secrets, secret: string, graceUntil: number, now: number): Secrets {
  const kept = secrets
    .filter((entry) => entry.expiresAt === null || entry.expiresAt > now)
    .map((entry) => ({ secret: entry.secret, expiresAt: Math.min(entry.expiresAt ?? graceUntil, graceUntil) }));
  return [{ secret, expiresAt: null }, ...kept];
}
