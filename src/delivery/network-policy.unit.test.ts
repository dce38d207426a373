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
});
