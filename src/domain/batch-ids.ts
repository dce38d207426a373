import { ALPHABET, DELIVERY_ID_PREFIX, isDeliveryId, ulid } from "./ids.ts";

/**
 * Ids of deliveries accepted together in one ingest batch: a ULID whose time and first 64 random
 * bits are the batch's and whose last 16 bits are the delivery's place in it. So every id still
 * sorts by time, and its first 22 ULID characters (time and 60 of the batch's bits) name the batch,
 * which is how a delivery is found before its batch has been expanded into the journal.
 */

export const MAX_BATCH_ITEMS = 4096;
const BATCH_KEY_LENGTH = 22;

export function batchDeliveryId(time: number, batchRandom: Uint8Array, index: number): string {
  if (batchRandom.length < 8) throw new Error("a batch needs 8 random bytes");
  if (!Number.isInteger(index) || index < 0 || index >= MAX_BATCH_ITEMS) {
    throw new Error(`batch index ${index} out of range`);
  }
  const random = new Uint8Array(10);
  random.set(batchRandom.subarray(0, 8));
  random[8] = index >> 8;
  random[9] = index & 0xff;
  return DELIVERY_ID_PREFIX + ulid(time, random);
}

/** The place in its batch a batched delivery id names (its last 16 bits). */
export function batchIndexOf(deliveryId: string): number | null {
  if (!isDeliveryId(deliveryId)) return null;
  let bits = 0;
  for (const char of deliveryId.slice(-4)) bits = bits * 32 + ALPHABET.indexOf(char);
  return bits & 0xffff;
}

/** The key of the batch a delivery id may belong to (any delivery id has one; only batched ones are found by it). */
export function batchKeyOf(deliveryId: string): string | null {
  return isDeliveryId(deliveryId)
    ? deliveryId.slice(DELIVERY_ID_PREFIX.length, DELIVERY_ID_PREFIX.length + BATCH_KEY_LENGTH)
    : null;
}
