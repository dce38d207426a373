import { describe, expect, it } from "vitest";
import { hasFourDigitYear } from "./four-digit-year.ts";

describe("hasFourDigitYear", () => {
  it("takes the years RFC 3339 can write, 0000 to 9999, and no others", () => {
    expect(hasFourDigitYear(new Date("0000-01-01T00:00:00Z"))).toBe(true);
    expect(hasFourDigitYear(new Date("2026-12-06T12:00:00Z"))).toBe(true);
    expect(hasFourDigitYear(new Date("9999-12-31T23:59:59.999Z"))).toBe(true);
    expect(hasFourDigitYear(new Date("-000001-12-31T23:59:59Z"))).toBe(false);
    expect(hasFourDigitYear(new Date("+010000-01-01T00:00:00Z"))).toBe(false);
  });
});
