/** Number formatting, percentiles and waiting, the same in every bench so their figures read alike. */

/** Grouped digits (1,234.5), `digits` after the point; a dash for what could not be measured (NaN, Infinity). */
export function fmt(n: number, digits = 0): string {
  if (!Number.isFinite(n)) return "–";
  return n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** The value at fraction `p` (0.5 for the median, 0.99 for p99) of ascending `sorted`; NaN when it is empty. */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
