import { describe, expect, it } from "vitest";
import { preferredWait, preferWithoutWait, waitParameter, waitPreference } from "./prefer-wait.ts";

describe("Prefer: wait", () => {
  it("reads the wait among other preferences, with parameters, quoted, in any case", () => {
    expect(preferredWait("wait=10")).toBe(10);
    expect(preferredWait("respond-async, wait=5")).toBe(5);
    expect(preferredWait('Wait="7"; foo=bar, handling=strict')).toBe(7);
    expect(preferredWait("handling=lenient")).toBeNull();
    expect(preferredWait(undefined)).toBeNull();
  });

  it("ignores a malformed wait, as RFC 7240 asks", () => {
    for (const text of ["wait", "wait=", "wait=soon", "wait=-1", "wait=1.5"]) {
      expect(preferredWait(text), text).toBeNull();
    }
  });

  it("reads a wait of any length, for the cap to cut", () => {
    expect(preferredWait("wait=1234567890")).toBe(1234567890);
    expect(preferredWait(`wait=${"9".repeat(400)}`)).toBe(Number.MAX_SAFE_INTEGER);
    expect(waitParameter("99999999999")).toBe(99999999999);
    expect(waitPreference(waitParameter("9".repeat(400)), null, 20)).toEqual({
      requested: Number.MAX_SAFE_INTEGER,
      applied: 20,
    });
  });

  it("reads _wait as whole seconds, or refuses it", () => {
    expect(waitParameter("12")).toBe(12);
    expect(waitParameter(" 3 ")).toBe(3);
    expect(waitParameter("3s")).toBeNull();
    expect(waitParameter("")).toBeNull();
  });

  it("caps the wait, prefers _wait over the header, and treats 0 as none", () => {
    expect(waitPreference(null, 60, 20)).toEqual({ requested: 60, applied: 20 });
    expect(waitPreference(5, 60, 20)).toEqual({ requested: 5, applied: 5 });
    expect(waitPreference(null, 0, 20)).toBeNull();
    expect(waitPreference(null, null, 20)).toBeNull();
  });

  it("takes wait out of a Prefer header and keeps the rest", () => {
    expect(preferWithoutWait("wait=5, handling=strict")).toBe("handling=strict");
    expect(preferWithoutWait("respond-async;x=1 , WAIT=3")).toBe("respond-async;x=1");
    expect(preferWithoutWait("wait=5")).toBeNull();
  });
});
