const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * The longest duration anything takes: a hundred years. Past it a time stops being a date JavaScript
 * can write, or NATS's nanoseconds leave a 64-bit integer.
 */
export const MAX_DURATION_MS = 36_500 * 86_400_000;

/** Parses "250ms", "5s", "1.5m", "2h", "1d"; a bare number means seconds. Throws on anything else. */
export function parseDuration(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(text);
  if (!match) throw new Error(`"${text}" is not a duration (use e.g. 500ms, 5s, 2m, 1h, 1d)`);
  const unit = match[2] ?? "s";
  const ms = Math.round(Number(match[1]) * UNIT_MS[unit]!);
  if (!(ms <= MAX_DURATION_MS)) throw new Error(`"${text}" is longer than ${formatDuration(MAX_DURATION_MS)}`);
  return ms;
}

export function parseDurationList(text: string): number[] {
  const parts = text.split(",").map((part) => part.trim()).filter((part) => part !== "");
  return parts.map(parseDuration);
}

export function formatDuration(ms: number): string {
  if (ms % 86_400_000 === 0 && ms > 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`;
  if (ms % 1_000 === 0 && ms > 0) return `${ms / 1_000}s`;
  return `${ms}ms`;
}

const SIZE_UNITS: Record<string, number> = { b: 1, kb: 1_000, mb: 1_000_000, kib: 1_024, mib: 1_048_576 };

/** Parses "1MiB", "512KiB", "1MB", "1048576" (bytes). */
export function parseByteSize(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = (match?.[2] ?? "").toLowerCase() || "b";
  const factor = SIZE_UNITS[unit];
  if (!match || factor === undefined) throw new Error(`"${text}" is not a size (use e.g. 1MiB, 512KiB, 1048576)`);
  return Math.floor(Number(match[1]) * factor);
}
