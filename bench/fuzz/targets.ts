import type { Rng } from "./prng.ts";

/**
 * Every URL the fuzz puts in a request. Only two kinds: a loopback port nothing listens on, and
 * literal non-loopback forms that hookd (HOOKD_ALLOWED_NETWORKS=127.0.0.0/8) must refuse at ingest.
 * No host names (a name is resolved only at delivery) and never a public address.
 */
export const FORBIDDEN_HOSTS = [
  "10.0.0.8",
  "192.168.1.10",
  "169.254.169.254",
  "0.0.0.0",
  "[::ffff:10.0.0.1]",
  "[fc00::1]",
  "[64:ff9b::a00:1]",
  "[::10.0.0.1]",
] as const;

export type Target = { url: string; mustRefuse: boolean };

export function pickTarget(rng: Rng, closedPort: number): Target {
  if (rng.int(3) === 0) {
    return { url: `http://${rng.pick(FORBIDDEN_HOSTS)}:${closedPort}/x`, mustRefuse: true };
  }
  const path = rng.pick(["/", "/a/../b", "/%ff", "/?q=1#frag", "/ünï"]);
  return { url: `http://127.0.0.1:${closedPort}${path}`, mustRefuse: false };
}

/** A random query string: names hookd knows and names it does not, with odd values. */
export function randomQuery(rng: Rng): string {
  const names = ["_url", "limit", "cursor", "state", "x", "topic", "%00", "a[]", "_method", "since"];
  const values = ["", "1", "-1", "99999999999999999999", "%ff", "%E2%82", "null", "ünï", "a".repeat(300)];
  const parts = Array.from({ length: rng.int(3) }, () => `${rng.pick(names)}=${rng.pick(values)}`);
  return parts.length ? `?${parts.join("&")}` : "";
}
