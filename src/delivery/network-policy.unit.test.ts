import { describe, expect, it } from "vitest";
import { NetworkPolicy } from "./network-policy.ts";

describe("network policy (SSRF guard)", () => {
  const strict = new NetworkPolicy([]);
  it("refuses private, loopback, link-local, unspecified and mapped addresses", () => {
    for (
      const address of [
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "127.0.0.1",
        "169.254.169.254",
        "0.0.0.0",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",
        "[::1]",
        "100.64.0.1",
        "224.0.0.1",
        "not-an-ip",
      ]
    ) {
      expect(strict.isForbidden(address), address).toBe(true);
    }
  });
  it("allows public unicast", () => {
    for (const address of ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"]) {
      expect(strict.isForbidden(address), address).toBe(false);
    }
  });
  it("allows exactly the configured networks", () => {
    const loopback = new NetworkPolicy(["127.0.0.0/8", "::1/128"]);
    expect(loopback.isForbidden("127.0.0.1")).toBe(false);
    expect(loopback.isForbidden("127.9.9.9")).toBe(false);
    expect(loopback.isForbidden("::1")).toBe(false);
    expect(loopback.isForbidden("::ffff:127.0.0.1")).toBe(false);
    expect(loopback.isForbidden("10.0.0.1")).toBe(true);
  });
  it("validates CIDRs and recognises IP literals", () => {
    expect(NetworkPolicy.validateCidr("127.0.0.0/8")).toBe(true);
    expect(NetworkPolicy.validateCidr("127.0.0.0")).toBe(false);
    expect(NetworkPolicy.isIpLiteral("[::1]")).toBe(true);
    expect(NetworkPolicy.isIpLiteral("example.com")).toBe(false);
  });
  it("judges a URL's literal host the same on every call, and leaves names to the DNS-time check", () => {
    for (let round = 0; round < 2; round++) {
      expect(strict.isForbiddenLiteral("127.0.0.1")).toBe(true);
      expect(strict.isForbiddenLiteral("[::1]")).toBe(true);
      expect(strict.isForbiddenLiteral("93.184.216.34")).toBe(false);
      expect(strict.isForbiddenLiteral("localhost")).toBe(false);
    }
  });

  it("refuses the IPv6 forms that embed a private IPv4 address, as URLs spell them, and says why", () => {
    for (
      const [host, why] of [
        ["[::a00:1]", "IPv4-compatible IPv6 address (::/96) embedding 10.0.0.1, which is private"],
        ["[::7f00:1]", "embedding 127.0.0.1, which is loopback"],
        ["[::ffff:a00:1]", "IPv4-mapped IPv6 address (::ffff:0:0/96) embedding 10.0.0.1"],
        ["[64:ff9b::a00:1]", "NAT64 address (64:ff9b::/96) embedding 10.0.0.1"],
        ["[2002:a00:1::]", "6to4 address (2002::/16) embedding 10.0.0.1"],
        ["[2001:0:4136:e378:8000:63bf:f5ff:fffe]", "Teredo address (2001::/32) embedding 10.0.0.1"],
        ["[fc00::1]", "unique local (fc00::/7)"],
      ]
    ) {
      expect(strict.isForbiddenLiteral(host!), host).toBe(true);
      expect(strict.isForbidden(host!), host).toBe(true);
      expect(strict.literalVerdict(host!), host).toEqual({ allowed: false, reason: expect.stringContaining(why!) });
    }
    expect(strict.literalVerdict("example.com")).toBeNull();
  });
});

/**
 * HOOKD_ALLOWED_NETWORKS: a CIDR allows the addresses it names as written; an IPv4 CIDR also allows
 * the IPv4-mapped form (a socket reaches that IPv4 host itself), but no other embedding form (those
 * go out as IPv6, through a relay or translator).
 */
describe("network policy with HOOKD_ALLOWED_NETWORKS", () => {
  const ALLOWED: [string[], string, "allowed" | "refused", string][] = [
    [["127.0.0.0/8"], "127.0.0.1", "allowed", "allowed by HOOKD_ALLOWED_NETWORKS (127.0.0.0/8)"],
    [["127.0.0.0/8"], "[::ffff:127.0.0.1]", "allowed", "(127.0.0.0/8)"],
    [["127.0.0.0/8"], "::ffff:7f00:1", "allowed", "(127.0.0.0/8)"],
    [["127.0.0.0/8"], "::1", "refused", "loopback (::1)"],
    [["127.0.0.0/8"], "[::127.0.0.1]", "refused", "covers only the IPv4 and IPv4-mapped forms"],
    [["127.0.0.0/8"], "[::7f00:1]", "refused", "covers only the IPv4 and IPv4-mapped forms"],
    [["127.0.0.0/8"], "2002:7f00:1::", "refused", "covers only the IPv4 and IPv4-mapped forms"],
    [["127.0.0.0/8"], "64:ff9b::7f00:1", "refused", "covers only the IPv4 and IPv4-mapped forms"],
    [["127.0.0.0/8"], "::ffff:0:7f00:1", "refused", "covers only the IPv4 and IPv4-mapped forms"],
    [["127.0.0.0/8"], "10.0.0.1", "refused", "private (10.0.0.0/8)"],
    [["127.0.0.0/8"], "[::ffff:10.0.0.1]", "refused", "embedding 10.0.0.1, which is private"],
    [["127.0.0.0/8", "::1/128"], "[::1]", "allowed", "(::1/128)"],
    [["10.0.0.0/8"], "10.1.2.3", "allowed", "(10.0.0.0/8)"],
    [["10.0.0.0/8"], "[::a00:1]", "refused", "covers only the IPv4 and IPv4-mapped forms"],
    [["2002::/16"], "2002:a00:1::", "allowed", "(2002::/16)"], // named by its IPv6 range: allowed, whatever is inside
    [["fc00::/7"], "[fd00::1]", "allowed", "(fc00::/7)"],
    [["fc00::/7"], "fe80::1", "refused", "link-local"],
    [["::/0"], "::1", "allowed", "(::/0)"], // a CIDR wider than meant allows all it covers
    [["192.168.0.0/16"], "[::ffff:192.168.1.1]", "allowed", "(192.168.0.0/16)"],
    [["192.168.0.0/16"], "8.8.8.8", "allowed", "public unicast"],
  ];

  it.each(ALLOWED)("with %j, %s is %s: %s", (cidrs, address, verdict, why) => {
    const result = new NetworkPolicy(cidrs).verdict(address);
    expect(result.allowed ? "allowed" : "refused").toBe(verdict);
    expect(result.reason).toContain(why);
  });
});
