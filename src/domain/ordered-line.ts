import { z } from "zod";

/**
 * An ordered subscription's line: the topic log, filtered by the subscription's topic, is the queue,
 * and the line records only how far it has got. Its head is the one event of the subscription that
 * has a delivery and may still be attempted; the events behind it have no delivery yet, so they use
 * no attempt while they wait.
 */

export const LineStateSchema = z.object({
  /** How far the line has read the topic log: its head's event, or past events of other types, or where it started. */
  topicSeq: z.number().int().nonnegative(),
  head: z.object({ eventId: z.string(), deliveryId: z.string(), topicSeq: z.number().int().positive() }).nullable(),
});
export type LineState = z.infer<typeof LineStateSchema>;

/** The head's delivery as the line sees it: its state, or gone when its journal aged out. */
export type HeadState = "pending" | "in-flight" | "backoff" | "delivered" | "failed" | "cancelled" | "gone";

/** Whether the event behind the head may go: only once the head is delivered or has finally failed (or is cancelled or gone). */
export function releasesNext(head: HeadState | null): boolean {
  return head === null || head === "delivered" || head === "failed" || head === "cancelled" || head === "gone";
}
