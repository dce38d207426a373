import { describe, expect, it } from "vitest";
import { classifyIp, parseIp } from "./ip-verdict.ts";

/** [address as written, expected verdict, why: a fragment the reason must contain]. */
type Row = [string, "public" | "refused", string];

const V4: Row[] = [
  ["0.0.0.0", "refused", `"this network" (0.0.0.0/8)`],
  ["0.1.2.3", "refused", `"this network" (0.0.0.0/8)`],
  ["10.0.0.1", "refused", "private (10.0.0.0/8)"],
  ["10.255.255.255", "refused", "private (10.0.0.0/8)"],
  ["100.64.0.1", "refused", "carrier-grade NAT"],
  ["100.127.255.254", "refused", "carrier-grade NAT"],
  ["127.0.0.1", "refused", "loopback (127.0.0.0/8)"],
  ["127.9.9.9", "refused", "loopback (127.0.0.0/8)"],
  ["169.254.169.254", "refused", "link-local (169.254.0.0/16)"],
  ["172.16.0.1", "refused", "private (172.16.0.0/12)"],
  ["172.31.255.1", "refused", "private (172.16.0.0/12)"],
  ["192.0.0.8", "refused", "IETF protocol assignments"],
  ["192.0.2.45", "refused", "documentation (192.0.2.0/24)"],
  ["192.88.99.1", "refused", "6to4 relay anycast"],
  ["192.168.1.1", "refused", "private (192.168.0.0/16)"],
  ["198.18.0.1", "refused", "benchmarking (198.18.0.0/15)"],
  ["198.51.100.7", "refused", "documentation (198.51.100.0/24)"],
  ["203.0.113.9", "refused", "documentation (203.0.113.0/24)"],
  ["224.0.0.1", "refused", "multicast (224.0.0.0/4)"],
  ["239.255.255.250", "refused", "multicast (224.0.0.0/4)"],
  ["240.0.0.1", "refused", "reserved or broadcast"],
  ["255.255.255.255", "refused", "reserved or broadcast"],
  ["2130706433", "refused", "loopback (127.0.0.0/8)"], // 127.0.0.1 as one number
  ["0177.0.0.1", "refused", "loopback (127.0.0.0/8)"], // octal
  ["0x7f.0.0.1", "refused", "loopback (127.0.0.0/8)"], // hex
  ["1.1.1.1", "public", "public unicast"],
  ["8.8.8.8", "public", "public unicast"],
  ["93.184.216.34", "public", "public unicast"],
  ["100.63.255.255", "public", "public unicast"], // just below CGNAT
  ["100.128.0.0", "public", "public unicast"], // just above CGNAT
  ["172.15.255.255", "public", "public unicast"], // just below 172.16/12
  ["172.32.0.0", "public", "public unicast"], // just above it
  ["192.88.98.1", "public", "public unicast"],
  ["198.20.0.1", "public", "public unicast"], // just above 198.18/15
  ["223.255.255.255", "public", "public unicast"],
];

const V6: Row[] = [
  ["::", "refused", "unspecified"],
  ["[::]", "refused", "unspecified"],
  ["0:0:0:0:0:0:0:0", "refused", "unspecified"],
  ["::1", "refused", "loopback (::1)"],
  ["[::1]", "refused", "loopback (::1)"],
  ["0000:0000:0000:0000:0000:0000:0000:0001", "refused", "loopback (::1)"],
  ["fc00::1", "refused", "unique local (fc00::/7)"],
  ["[fd12:3456:789a::1]", "refused", "unique local (fc00::/7)"],
  ["fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "refused", "unique local (fc00::/7)"],
  ["fec0::1", "refused", "site-local (fec0::/10)"],
  ["feff::1", "refused", "site-local (fec0::/10)"],
  ["fe80::1", "refused", "link-local (fe80::/10)"],
  ["fe80::1%eth0", "refused", "link-local (fe80::/10)"], // a zone id does not change the range
  ["febf:ffff::1", "refused", "link-local (fe80::/10)"],
  ["ff02::1", "refused", "multicast (ff00::/8)"],
  ["ff05::1:3", "refused", "multicast (ff00::/8)"],
  ["2001:db8::1", "refused", "documentation (2001:db8::/32)"],
  ["[2001:0db8:0000:0000:0000:0000:0000:0001]", "refused", "documentation (2001:db8::/32)"],
  ["3fff::1", "refused", "documentation (3fff::/20)"],
  ["100::1", "refused", "discard-only (100::/64)"],
  ["2001:2::1", "refused", "benchmarking (2001:2::/48)"],
  ["64:ff9b:1::a00:1", "refused", "local-use NAT64"],
  ["64:ff9b:1::808:808", "refused", "local-use NAT64"], // refused whole, even with a public address inside
  ["::1:0:0:0", "refused", "outside global unicast"],
  ["5f00::1", "refused", "outside global unicast"], // SRv6 SIDs
  ["4000::1", "refused", "outside global unicast"],
  ["2606:4700::1111", "public", "public unicast"],
  ["[2606:4700:4700::1111]", "public", "public unicast"],
  ["2606:4700:4700:0000:0000:0000:0000:1111", "public", "public unicast"],
  ["2001:4860:4860::8888", "public", "public unicast"],
  ["2a00:1450:4001:82b::200e", "public", "public unicast"],
  ["2001:1::1", "public", "public unicast"], // inside 2001::/23 but not Teredo or a listed range
  ["2003::1", "public", "public unicast"],
  ["3ffe::1", "public", "public unicast"], // the old 6bone range, now plain global unicast
];

/** Inner IPv4 addresses to put inside each embedding form, with the IPv4 verdict (in full) the form inherits. */
const INNER: [string, "public" | "refused", string][] = [
  ["10.0.0.1", "refused", "private (10.0.0.0/8)"],
  ["127.0.0.1", "refused", "loopback (127.0.0.0/8)"],
  ["169.254.169.254", "refused", "link-local (169.254.0.0/16), where cloud metadata services live"],
  ["100.64.0.1", "refused", "carrier-grade NAT shared space (100.64.0.0/10)"],
  ["192.168.1.1", "refused", "private (192.168.0.0/16)"],
  ["0.0.0.2", "refused", `"this network" (0.0.0.0/8), which reaches this host`],
  ["8.8.8.8", "public", "public unicast"],
  ["93.184.216.34", "public", "public unicast"],
];

const hexWords = (ipv4: string, xor = 0) => {
  const [a, b, c, d] = ipv4.split(".").map(Number) as [number, number, number, number];
  return [((a << 8) | b) ^ xor, ((c << 8) | d) ^ xor].map((word) => word.toString(16));
};

/** Each form with the start of its reason, spelled the ways URLs and DNS answers spell it. */
const FORMS: [string, (ipv4: string) => string][] = [
  ["an IPv4-mapped IPv6 address (::ffff:0:0/96)", (v4) => `::ffff:${v4}`],
  ["an IPv4-mapped IPv6 address (::ffff:0:0/96)", (v4) => `[::ffff:${hexWords(v4).join(":")}]`],
  ["an IPv4-compatible IPv6 address (::/96)", (v4) => `::${v4}`],
  ["an IPv4-compatible IPv6 address (::/96)", (v4) => `0:0:0:0:0:0:${hexWords(v4).join(":")}`],
  ["an IPv4-translated IPv6 address (::ffff:0:0:0/96)", (v4) => `::ffff:0:${v4}`],
  ["a NAT64 address (64:ff9b::/96)", (v4) => `[64:ff9b::${hexWords(v4).join(":")}]`],
  ["a 6to4 address (2002::/16)", (v4) => `2002:${hexWords(v4).join(":")}::1`],
  ["a Teredo address (2001::/32)", (v4) => `2001:0:4136:e378:8000:63bf:${hexWords(v4, 0xffff).join(":")}`],
];

const EMBEDDED: Row[] = FORMS.flatMap(([form, spell]) =>
  INNER.map(([v4, verdict, why]): Row => [spell(v4), verdict, `${form} embedding ${v4}, which is ${why}`])
);

/** Spellings written out by hand, so the table does not only check the helper above. */
const HAND: Row[] = [
  ["::a00:1", "refused", "an IPv4-compatible IPv6 address (::/96) embedding 10.0.0.1, which is private (10.0.0.0/8)"],
  ["[::a00:1]", "refused", "embedding 10.0.0.1"],
  ["::7f00:1", "refused", "embedding 127.0.0.1, which is loopback"],
  ["::ffff:7f00:1", "refused", "an IPv4-mapped IPv6 address (::ffff:0:0/96) embedding 127.0.0.1"],
  ["64:ff9b::a9fe:a9fe", "refused", "embedding 169.254.169.254"],
  ["2002:a00:1::", "refused", "a 6to4 address (2002::/16) embedding 10.0.0.1"],
  ["2002:7f00:1::", "refused", "embedding 127.0.0.1"],
  ["2002:c058:6301::", "refused", "embedding 192.88.99.1"],
  ["2002:808:808::1", "public", "embedding 8.8.8.8, which is public unicast"],
  ["2001:0:4136:e378:8000:63bf:f5ff:fffe", "refused", "a Teredo address (2001::/32) embedding 10.0.0.1"],
  ["2001:0:4136:e378:8000:63bf:3fff:fdd2", "refused", "embedding 192.0.2.45"], // RFC 4380's example
  ["2001::ffff:ffff", "refused", "embedding 0.0.0.0"],
  ["::ffff:0808:0808", "public", "embedding 8.8.8.8"],
];

const TABLE: Row[] = [...V4, ...V6, ...EMBEDDED, ...HAND];

describe("IP verdicts (the default SSRF policy)", () => {
  it("has at least a hundred rows", () => {
    expect(TABLE.length).toBeGreaterThanOrEqual(100);
  });

  it.each(TABLE)("%s is %s: %s", (address, verdict, why) => {
    const parsed = parseIp(address);
    expect(parsed, address).toBeDefined();
    const result = classifyIp(parsed!);
    expect(result.public ? "public" : "refused").toBe(verdict);
    expect(result.reason).toContain(why);
  });

  it("reads a dotted tail as written, not as ipaddr.js's ::ffff: shorthand", () => {
    expect(parseIp("::10.0.0.1")!.toString()).toBe("::a00:1");
    expect(parseIp("[::127.0.0.1]")!.toString()).toBe("::7f00:1");
    expect(parseIp("64:ff9b::10.0.0.1")!.toString()).toBe("64:ff9b::a00:1");
  });

  it("parses nothing that is not an address", () => {
    for (
      const text of ["", "localhost", "example.com", "[example.com]", "::10.0.0.256", "1.2.3.4.5", "[::1", "gggg::1"]
    ) {
      expect(parseIp(text), text).toBeUndefined();
    }
  });
});
