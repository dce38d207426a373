// Crockford base32, as ULID uses: sortable by creation time, no ambiguous letters, and valid in a NATS token.
export const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** A ULID (48-bit millisecond time + 80 random bits). The caller supplies the clock and the entropy. */
export function ulid(now: number, random: Uint8Array): string {
  if (random.length < 10) throw new Error("ulid needs 10 random bytes");
  let time = "";
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  let bits = 0;
  let value = 0;
  let rest = "";
  for (let i = 0; i < 10; i++) {
    value = (value << 8) | random[i]!;
    bits += 8;
    while (bits >= 5) {
      rest += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  return time + rest;
}

/** The creation time (epoch ms) a ULID carries in its first ten characters. */
export function ulidTime(id: string): number {
  let time = 0;
  for (const char of id.slice(0, 10)) {
    const value = ALPHABET.indexOf(char);
    if (value < 0) throw new Error(`"${id}" is not a ULID`);
    time = time * 32 + value;
  }
  return time;
}

export const DELIVERY_ID_PREFIX = "dlv_";
export const DELIVERY_ID_PATTERN = /^dlv_[0-9A-HJKMNP-TV-Z]{26}$/;

/** A subscription's id: sub_ + ULID (a config file's subscriptions too, from a digest of their name). */
export const SUBSCRIPTION_ID_PATTERN = /^sub_[0-9A-HJKMNP-TV-Z]{26}$/;

export function isDeliveryId(text: string): boolean {
  return DELIVERY_ID_PATTERN.test(text);
}

/**
 * A published event's id: evt_ + ULID, or seq-<n> for a topic-log message that came without one
 * (stored by something other than hookd), which names it by its sequence.
 */
const EVENT_ID_PATTERN = /^(evt_[0-9A-HJKMNP-TV-Z]{26}|seq-[1-9][0-9]{0,15})$/;

export function isEventId(text: string): boolean {
  return EVENT_ID_PATTERN.test(text);
}
