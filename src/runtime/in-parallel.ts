/**
 * Runs `each` on every item, at most `lanes` at once, each lane taking the next item as it finishes
 * one: many reads or creates in flight together without a promise per item made up front. Rejects
 * with the first error.
 */
export async function eachInParallel<T>(
  items: readonly T[],
  lanes: number,
  each: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const index = next++;
      await each(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(lanes, items.length) }, lane));
}
