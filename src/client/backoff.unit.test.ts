import { describe, expect, it } from "vitest";
import { backoffDelay, checkBackoff, parseRetryAfter } from "./backoff.ts";

describe("backoff", () => {
  const options = { initialMs: 100, maxMs: 1_000 };

  it("doubles the ceiling per attempt up to maxMs", () => {
    const top = () => 0.999_999;
    expect([0, 1, 2, 3, 4, 10, 2_000].map((attempt) => backoffDelay(attempt, options, top))).toEqual([
      99,
      199,
      399,
      799,
      999,
      999,
      999,
    ]);
  });

  it("draws the whole range below the ceiling (full jitter)", () => {
    expect(backoffDelay(3, options, () => 0)).toBe(0);
    expect(backoffDelay(3, options, () => 0.5)).toBe(400);
  });

  it("refuses options that cannot grow", () => {
    expect(() => checkBackoff({ initialMs: 0, maxMs: 10 })).toThrow(RangeError);
    expect(() => checkBackoff({ initialMs: 100, maxMs: 10 })).toThrow(/initialMs <= maxMs/);
    expect(checkBackoff(undefined)).toEqual({ initialMs: 500, maxMs: 30_000 });
  });

  it("reads Retry-After as seconds or as an HTTP date", () => {
    const now = Date.parse("2026-11-23T10:00:00Z");
    expect(parseRetryAfter("5", now)).toBe(5_000);
    expect(parseRetryAfter("Mon, 23 Nov 2026 10:00:07 GMT", now)).toBe(7_000);
    expect(parseRetryAfter("Mon, 23 Nov 2026 09:00:00 GMT", now)).toBe(0);
    expect(parseRetryAfter("soon", now)).toBeNull();
    expect(parseRetryAfter(null, now)).toBeNull();
  });
});
