/**
 * Where a topic stream starts. Every message carries the topic log's sequence as its id, so a
 * listener that comes back with `Last-Event-ID: 41` (or `?since=41`) gets everything after 41.
 */

export type StreamStart =
  /** Only messages published from now on (the default for a new listener). */
  | { kind: "now" }
  /** Every message with a sequence above `seq` (0: the whole retained log). */
  | { kind: "after-seq"; seq: number }
  /** Every message published at or after `at` (epoch ms). */
  | { kind: "at-time"; at: number };

export class StreamStartError extends Error {}

const SEQUENCE = /^\d{1,15}$/;
// A date with a time and zone, or a bare date: what an operator types after "since=".
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2}))?$/;

/**
 * Reads `Last-Event-ID` (which wins, since a reconnecting EventSource sends it) or `?since=`:
 * `now`, a sequence number, or an ISO 8601 time. A time in the future means now.
 */
export function parseStreamStart(
  input: { lastEventId?: string | undefined; since?: string | undefined },
  now: number,
): StreamStart {
  const lastEventId = input.lastEventId?.trim();
  if (lastEventId !== undefined && lastEventId !== "") {
    if (!SEQUENCE.test(lastEventId)) {
      throw new StreamStartError(
        `Last-Event-ID must be a sequence number from an earlier message (got "${lastEventId}")`,
      );
    }
    return { kind: "after-seq", seq: Number(lastEventId) };
  }
  const since = input.since?.trim();
  if (since === undefined || since === "" || since === "now") return { kind: "now" };
  if (SEQUENCE.test(since)) return { kind: "after-seq", seq: Number(since) };
  if (ISO_TIME.test(since)) {
    const at = Date.parse(since);
    if (Number.isFinite(at)) return at >= now ? { kind: "now" } : { kind: "at-time", at };
  }
  throw new StreamStartError(
    `since must be "now", a sequence number (the id of the last message you have) or an ISO 8601 time such as 2026-11-23T10:00:00Z (got "${since}")`,
  );
}

/**
 * The first sequence whose message was stored at or after `at`, by binary search over the log's
 * timestamps (nats-server 2.9 cannot start a direct read at a time). `timeOf` returns null for a
 * sequence that is gone; the log only loses messages from its front, so such a sequence counts as
 * earlier than `at`. Returns `last + 1` when every message is older.
 */
export async function firstSeqAtOrAfter(
  at: number,
  first: number,
  last: number,
  timeOf: (seq: number) => Promise<number | null>,
): Promise<number> {
  let low = first;
  let high = last + 1;
  while (low < high) {
    const middle = Math.floor((low + high) / 2);
    const time = await timeOf(middle);
    if (time === null || time < at) low = middle + 1;
    else high = middle;
  }
  return low;
}
