import type { JetStreamManager, StoredMsg } from "@nats-io/jetstream";
import { unavailable } from "./journal.ts";

/**
 * The first stream sequence in [first, last] whose message on `subject` has `reached` true, for a
 * test that, once true, stays true along the stream (a time or a sequence its writer kept in
 * order): a binary search of direct gets, a few dozen for millions of messages; `last + 1` when no
 * message does. A direct get at a sequence answers the next message on the subject from there,
 * so deleted messages (gaps) cost nothing.
 */
export async function firstSeqWhere(
  jsm: JetStreamManager,
  stream: string,
  subject: string,
  range: { first: number; last: number },
  reached: (message: StoredMsg) => boolean,
): Promise<number> {
  let [lo, hi] = [range.first, range.last + 1];
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    const found = await jsm.direct.getMessage(stream, { seq: mid, next_by_subj: subject }).catch(unavailable);
    if (!found || found.seq >= hi) hi = mid;
    else if (!reached(found)) lo = found.seq + 1;
    else hi = mid;
  }
  return lo;
}
