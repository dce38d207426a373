import { describe, expect, it } from "vitest";
import { batchDeliveryId, batchIndexOf, batchKeyOf, MAX_BATCH_ITEMS } from "./batch-ids.ts";
import { isDeliveryId, ulidTime } from "./ids.ts";

describe("batch delivery ids", () => {
  const random = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
  const at = Date.parse("2026-11-23T12:00:00Z");

  it("are delivery ids that carry the batch's time and share the batch's key", () => {
    const ids = [0, 1, 255, 256, MAX_BATCH_ITEMS - 1].map((index) => batchDeliveryId(at, random, index));
    expect(ids.every(isDeliveryId)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.every((id) => ulidTime(id.slice(4)) === at)).toBe(true);
    expect(new Set(ids.map(batchKeyOf)).size).toBe(1);
    // In batch order, they sort in batch order.
    expect([...ids].sort()).toEqual(ids);
  });

  it("name their place in the batch", () => {
    for (const index of [0, 1, 255, 256, MAX_BATCH_ITEMS - 1]) {
      expect(batchIndexOf(batchDeliveryId(at, random, index))).toBe(index);
    }
    expect(batchIndexOf("nope")).toBeNull();
  });

  it("differ in key between batches", () => {
    const other = batchDeliveryId(at, new Uint8Array([9, 2, 3, 4, 5, 6, 7, 8]), 0);
    expect(batchKeyOf(other)).not.toBe(batchKeyOf(batchDeliveryId(at, random, 0)));
    expect(batchKeyOf("not-an-id")).toBeNull();
  });

  it("refuse an index past the batch limit", () => {
    expect(() => batchDeliveryId(at, random, MAX_BATCH_ITEMS)).toThrow(/out of range/);
  });
});
