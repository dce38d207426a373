import { describe, expect, it } from "vitest";
import { type HeadState, LineStateSchema, releasesNext } from "./ordered-line.ts";

describe("an ordered line", () => {
  it("releases the next event only once its head is done", () => {
    const waits: HeadState[] = ["pending", "in-flight", "backoff"];
    const releases: HeadState[] = ["delivered", "failed", "cancelled", "gone"];
    for (const state of waits) expect(releasesNext(state), state).toBe(false);
    for (const state of releases) expect(releasesNext(state), state).toBe(true);
    // A line without a head yet takes its first event.
    expect(releasesNext(null)).toBe(true);
  });

  it("stores where it has read to and its head with the head's own position", () => {
    const line = { topicSeq: 12, head: { eventId: "evt_1", deliveryId: "dlv_1", topicSeq: 9 } };
    expect(LineStateSchema.parse(line)).toEqual(line);
    expect(LineStateSchema.safeParse({ topicSeq: -1, head: null }).success).toBe(false);
  });
});
