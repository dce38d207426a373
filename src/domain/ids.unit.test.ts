import { describe, expect, it } from "vitest";
import { DELIVERY_ID_PREFIX, isDeliveryId, ulid, ulidTime } from "./ids.ts";

describe("ids", () => {
  it("makes ULIDs that sort by time and carry it", () => {
    const random = new Uint8Array(10).fill(255);
    const early = ulid(1_700_000_000_000, random);
    const late = ulid(1_700_000_000_001, new Uint8Array(10));
    expect(early).toHaveLength(26);
    expect(early < late).toBe(true);
    expect(ulidTime(early)).toBe(1_700_000_000_000);
    expect(ulidTime(late)).toBe(1_700_000_000_001);
  });
  it("recognises delivery ids", () => {
    expect(isDeliveryId(DELIVERY_ID_PREFIX + ulid(Date.now(), new Uint8Array(10)))).toBe(true);
    expect(isDeliveryId("dlv_nope")).toBe(false);
    expect(() => ulidTime("!!!")).toThrow(/not a ULID/);
  });
});
