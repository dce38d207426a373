import { describe, expect, it } from "vitest";
import { isValidSecret } from "./sign-standard-webhooks.ts";
import { generateSecret, rotatedSecrets, secretProblem } from "./subscription-secret.ts";

const whsec = "whsec_" + btoa(String.fromCharCode(...new Uint8Array(32).fill(7)));

describe("subscription secrets", () => {
  it("an API caller may leave the secret out; the config file must name it", () => {
    expect(secretProblem("standard-webhooks", undefined, "api")).toBeNull();
    expect(secretProblem("websub", undefined, "api")).toBeNull();
    expect(secretProblem("standard-webhooks", undefined, "config")).toMatch(/needs a Standard Webhooks secret/);
    expect(secretProblem("websub", undefined, "config")).toMatch(/needs the subscriber's secret/);
  });

  it("holds each dialect to its form", () => {
    for (const source of ["api", "config"] as const) {
      expect(secretProblem("plain", undefined, source)).toBeNull();
      expect(secretProblem("plain", "x", source)).toMatch(/not signed/);
      expect(secretProblem("standard-webhooks", whsec, source)).toBeNull();
      expect(secretProblem("standard-webhooks", "nope", source)).toMatch(/Standard Webhooks secret/);
      expect(secretProblem("websub", "s", source)).toBeNull();
      expect(secretProblem("websub", "", source)).not.toBeNull();
    }
    // WebSub's hub.secret bound, counted in bytes; the config file has never applied it.
    expect(secretProblem("websub", "é".repeat(100), "api")).toMatch(/1 to 199 bytes/);
    expect(secretProblem("websub", "x".repeat(199), "api")).toBeNull();
    expect(secretProblem("websub", "x".repeat(300), "config")).toBeNull();
  });

  it("makes secrets in the dialect's form", () => {
    expect(isValidSecret(generateSecret("standard-webhooks"))).toBe(true);
    expect(atob(generateSecret("websub"))).toHaveLength(24);
    expect(generateSecret("websub")).not.toBe(generateSecret("websub"));
  });

  it("a rotation signs with the old secrets beside the new one until the grace period ends", () => {
    const now = 1_000;
    const secrets = [
      { secret: "current", expiresAt: null },
      { secret: "retiring-later", expiresAt: 9_000 },
      { secret: "retiring-sooner", expiresAt: 2_000 },
      { secret: "expired", expiresAt: 500 },
    ];
    expect(rotatedSecrets(secrets, "new", 5_000, now)).toEqual([
      { secret: "new", expiresAt: null },
      { secret: "current", expiresAt: 5_000 },
      { secret: "retiring-later", expiresAt: 5_000 },
      { secret: "retiring-sooner", expiresAt: 2_000 },
    ]);
  });
});
