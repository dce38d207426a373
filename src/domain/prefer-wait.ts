/**
 * Inline mode's wait (RFC 7240): `Prefer: wait=<seconds>`, or `?_wait=<seconds>` on Hookah's forms,
 * asks hookd to hold the answer until the delivery's first attempt has finished. A wait over the cap
 * is cut to the cap, and `Preference-Applied` names the wait actually used.
 */

/** What a request asked for and what it gets: whole seconds, the applied one at most the cap. */
export type WaitPreference = { requested: number; applied: number };

// RFC 7240's delta-seconds is any run of digits; a run too long for a number is still a wait, one the cap then cuts.
const DELTA_SECONDS = /^[0-9]+$/;

/** Seconds from a digit run, at most Number.MAX_SAFE_INTEGER, so a thousand digits are a long wait, not Infinity. */
function secondsOf(digits: string): number {
  return Math.min(Number(digits), Number.MAX_SAFE_INTEGER);
}

/**
 * The `wait` preference of a Prefer header (several headers arrive joined by ", "). RFC 7240 §2 has
 * a server ignore a preference it cannot read, so a malformed wait is no wait; the first wait wins.
 */
export function preferredWait(prefer: string | null | undefined): number | null {
  if (!prefer) return null;
  for (const preference of prefer.split(",")) {
    const [token = "", value] = preference.split(";", 1)[0]!.split("=", 2).map((part) => part.trim());
    if (token.toLowerCase() !== "wait") continue;
    const seconds = value?.replace(/^"(.*)"$/, "$1") ?? "";
    return DELTA_SECONDS.test(seconds) ? secondsOf(seconds) : null;
  }
  return null;
}

/** `_wait` is hookd's own parameter, so a malformed one is the caller's mistake: null means "not a number of seconds". */
export function waitParameter(text: string): number | null {
  return DELTA_SECONDS.test(text.trim()) ? secondsOf(text.trim()) : null;
}

/** The wait to apply, or null for none (not asked, or 0). `_wait` wins over Prefer when both are sent. */
export function waitPreference(
  fromParameter: number | null,
  fromHeader: number | null,
  capSeconds: number,
): WaitPreference | null {
  const requested = fromParameter ?? fromHeader;
  if (requested === null || requested <= 0) return null;
  return { requested, applied: Math.min(requested, capSeconds) };
}

/** The Prefer header without its wait preference (the proxy form forwards the rest); null when nothing is left. */
export function preferWithoutWait(prefer: string): string | null {
  const kept = prefer.split(",").map((part) => part.trim()).filter((part) =>
    part !== "" && part.split(";", 1)[0]!.split("=", 1)[0]!.trim().toLowerCase() !== "wait"
  );
  return kept.length > 0 ? kept.join(", ") : null;
}
