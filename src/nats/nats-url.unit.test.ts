import { describe, expect, it } from "vitest";
import { natsSettingProblems } from "./connect-settings.ts";
import { displayNatsUrl, parseNatsUrl } from "./nats-url.ts";

describe("NATS_URL", () => {
  it("takes a comma-separated list of servers, bare host:port included", () => {
    expect(parseNatsUrl("nats://a:4222, tls://b:4223,c:4224")).toEqual({
      servers: ["nats://a:4222", "tls://b:4223", "nats://c:4224"],
      auth: null,
      tls: true,
    });
  });

  it("takes user:password@ and token@ out of the servers", () => {
    expect(parseNatsUrl("nats://hookd:s%40cret@a:4222,nats://b:4222")).toMatchObject({
      servers: ["nats://a:4222", "nats://b:4222"],
      auth: { kind: "user", user: "hookd", pass: "s@cret" },
    });
    expect(parseNatsUrl("nats://t0ken@a:4222").auth).toEqual({ kind: "token", token: "t0ken" });
  });

  it("is logged without its credentials", () => {
    expect(displayNatsUrl("nats://hookd:secret@a:4222,nats://hookd:secret@b:4222")).toBe("nats://a:4222,nats://b:4222");
    expect(displayNatsUrl("http://hookd:secret@a")).not.toContain("secret");
  });

  it("refuses what is not a NATS server list, without repeating credentials", () => {
    expect(() => parseNatsUrl("http://a:80")).toThrow(/nats:\/\/ or tls:\/\//);
    expect(() => parseNatsUrl(" , ")).toThrow(/names no server/);
    expect(() => parseNatsUrl("nats://a:4222/path")).toThrow(/scheme:\/\/host:port/);
    // A bare % in a password: the fix, not "URI malformed", and not the password.
    expect(() => parseNatsUrl("nats://hookd:50%off@a:4222")).toThrow(
      /^user or password has an invalid %-escape; percent-encode @ : \/ %/,
    );
    expect(() => parseNatsUrl("nats://hookd:50%off@a:4222")).not.toThrow(/50%off/);
    expect(() => parseNatsUrl("nats://u:pw1xyz@a:4222,nats://u:pw2xyz@b:4222")).toThrow(/different credentials/);
    try {
      parseNatsUrl("nats://u:pw1xyz@a:4222,nats://u:pw2xyz@b:4222");
    } catch (error) {
      expect((error as Error).message).not.toMatch(/pw1xyz|pw2xyz/);
    }
  });
});

describe("NATS connection settings", () => {
  const url = "nats://127.0.0.1:4222";

  it("accepts one way to authenticate with TLS and a domain", () => {
    expect(natsSettingProblems({
      NATS_URL: url,
      HOOKD_NATS_CREDS: "/x.creds",
      HOOKD_NATS_TLS_CA: "/ca.pem",
      HOOKD_NATS_TLS_CERT: "/c.pem",
      HOOKD_NATS_TLS_KEY: "/k.pem",
      HOOKD_JS_DOMAIN: "hub",
    })).toEqual([]);
  });

  it("names the variable of each conflict", () => {
    const problems = natsSettingProblems({
      NATS_URL: url,
      HOOKD_NATS_CREDS: "/x.creds",
      HOOKD_NATS_NKEY: "/seed",
      HOOKD_NATS_TLS_CERT: "/c.pem",
      HOOKD_JS_DOMAIN: "a.b",
    });
    expect(problems.map((problem) => problem.variable)).toEqual([
      "HOOKD_NATS_NKEY",
      "HOOKD_NATS_TLS_KEY",
      "HOOKD_JS_DOMAIN",
    ]);
    expect(problems[0]!.message).toContain("HOOKD_NATS_CREDS and HOOKD_NATS_NKEY");
  });

  it("refuses credentials in the URL beside a credentials variable", () => {
    expect(natsSettingProblems({ NATS_URL: "nats://u:p@a:4222", HOOKD_NATS_TOKEN: "t" })).toEqual([
      expect.objectContaining({ variable: "HOOKD_NATS_TOKEN" }),
    ]);
  });

  it("refuses connection settings without NATS_URL", () => {
    expect(natsSettingProblems({ HOOKD_NATS_TOKEN: "t" })).toEqual([
      expect.objectContaining({ variable: "HOOKD_NATS_TOKEN", message: expect.stringMatching(/needs NATS_URL/) }),
    ]);
  });
});
