import { describe, expect, it } from "vitest";
import { parseByteSize, parseDuration, parseDurationList } from "./duration.ts";
import {
  JITTER_RATIO,
  MAX_RETRY_AFTER_MS,
  maxAttemptsFor,
  nextRetryAt,
  parseRetryAfter,
  parseRetrySchedule,
} from "./retry-policy.ts";

describe("durations", () => {
  it("parses units and bare seconds", () => {
    expect(parseDurationList("250ms, 5s,2m,1h,1d,3")).toEqual([250, 5_000, 120_000, 3_600_000, 86_400_000, 3_000]);
    expect(() => parseDuration("5 minutes")).toThrow(/not a duration/);
  });
  it("refuses a duration over a hundred years, which no date or NATS nanosecond count can hold", () => {
    expect(parseDuration("36500d")).toBe(36_500 * 86_400_000);
    expect(() => parseDuration("36501d")).toThrow(/"36501d" is longer than 36500d/);
    expect(() => parseDuration("99999999999999d")).toThrow(/longer than 36500d/);
    expect(() => parseDuration("9".repeat(400))).toThrow(/longer than 36500d/);
  });
  it("parses sizes", () => {
    expect(parseByteSize("1MiB")).toBe(1_048_576);
    expect(parseByteSize("64KiB")).toBe(65_536);
    expect(parseByteSize("1000")).toBe(1_000);
    expect(() => parseByteSize("big")).toThrow(/not a size/);
  });
});

describe("retry policy", () => {
  const schedule = [5_000, 30_000, 120_000];
  it("allows one attempt more than the schedule has delays", () => expect(maxAttemptsFor(schedule)).toBe(4));
  it("takes 1 to 50 delays of at most 30 days each", () => {
    expect(parseRetrySchedule("5s, 1d, 30d")).toEqual([5_000, 86_400_000, 30 * 86_400_000]);
    expect(() => parseRetrySchedule("5s,31d")).toThrow(/has a delay over 30d/);
    expect(() => parseRetrySchedule(",")).toThrow(/needs 1 to 50 delays/);
    expect(() => parseRetrySchedule(Array(51).fill("1s").join(","))).toThrow(/needs 1 to 50 delays/);
  });
  it("waits the scheduled delay for the attempt, within the jitter band", () => {
    for (const random of [0, 0.5, 0.999]) {
      const at = nextRetryAt({ schedule, attemptsInRound: 2, now: 1_000, random });
      expect(at - 1_000).toBeGreaterThanOrEqual(30_000 * (1 - JITTER_RATIO));
      expect(at - 1_000).toBeLessThanOrEqual(30_000 * (1 + JITTER_RATIO));
    }
    expect(nextRetryAt({ schedule, attemptsInRound: 1, now: 0, random: 0.5 })).toBe(5_000);
  });
  it("keeps the last delay for attempts past the schedule", () =>
    expect(nextRetryAt({ schedule, attemptsInRound: 9, now: 0, random: 0.5 })).toBe(120_000));
  it("honours Retry-After exactly, bounded", () => {
    expect(nextRetryAt({ schedule, attemptsInRound: 1, now: 100, random: 0.9, retryAfterMs: 7_000 })).toBe(7_100);
    expect(nextRetryAt({ schedule, attemptsInRound: 1, now: 0, random: 0, retryAfterMs: 10 * MAX_RETRY_AFTER_MS }))
      .toBe(MAX_RETRY_AFTER_MS);
  });
  it("reads Retry-After as seconds or as an HTTP date", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(parseRetryAfter("120", now)).toBe(120_000);
    expect(parseRetryAfter("Thu, 01 Jan 2026 00:00:30 GMT", now)).toBe(30_000);
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});
