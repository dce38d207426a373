/**
 * The address ranges hookd will not connect to by default, as data: each with the reason a user
 * reads in the 422 or in the failed attempt. Ranges are checked in order and the first match wins,
 * so a narrow range (::1/128) comes before a wider one that contains it (::/96).
 *
 * An IPv6 range that embeds an IPv4 address names how to find it (`embeds`); such an address gets
 * the verdict of the IPv4 address inside, since that is the host a connection ends up at.
 *
 * @module
 */

/** How an IPv6 form carries an IPv4 address. */
export type Embedding = "last32" | "sixToFour" | "teredo";

export type RangeRule = {
  readonly cidr: string;
  readonly reason: string;
  readonly embeds?: Embedding;
};

/** IPv4 special-purpose ranges (IANA registry) that are not globally reachable. Everything else is public. */
export const IPV4_RULES: readonly RangeRule[] = [
  { cidr: "0.0.0.0/8", reason: `"this network" (0.0.0.0/8), which reaches this host` },
  { cidr: "10.0.0.0/8", reason: "private (10.0.0.0/8)" },
  { cidr: "100.64.0.0/10", reason: "carrier-grade NAT shared space (100.64.0.0/10)" },
  { cidr: "127.0.0.0/8", reason: "loopback (127.0.0.0/8)" },
  { cidr: "169.254.0.0/16", reason: "link-local (169.254.0.0/16), where cloud metadata services live" },
  { cidr: "172.16.0.0/12", reason: "private (172.16.0.0/12)" },
  { cidr: "192.0.0.0/24", reason: "IETF protocol assignments (192.0.0.0/24)" },
  { cidr: "192.0.2.0/24", reason: "documentation (192.0.2.0/24)" },
  { cidr: "192.88.99.0/24", reason: "the deprecated 6to4 relay anycast (192.88.99.0/24)" },
  { cidr: "192.168.0.0/16", reason: "private (192.168.0.0/16)" },
  { cidr: "198.18.0.0/15", reason: "benchmarking (198.18.0.0/15)" },
  { cidr: "198.51.100.0/24", reason: "documentation (198.51.100.0/24)" },
  { cidr: "203.0.113.0/24", reason: "documentation (203.0.113.0/24)" },
  { cidr: "224.0.0.0/4", reason: "multicast (224.0.0.0/4)" },
  { cidr: "240.0.0.0/4", reason: "reserved or broadcast (240.0.0.0/4)" },
];

/**
 * IPv6 ranges, narrow before wide. Anything not listed is public only inside global unicast
 * 2000::/3; the rest of the space is reserved or unassigned and refused (see IPV6_DEFAULT).
 */
export const IPV6_RULES: readonly RangeRule[] = [
  { cidr: "::/128", reason: "unspecified (::)" },
  { cidr: "::1/128", reason: "loopback (::1)" },
  { cidr: "::ffff:0:0/96", reason: "an IPv4-mapped IPv6 address (::ffff:0:0/96)", embeds: "last32" },
  { cidr: "::ffff:0:0:0/96", reason: "an IPv4-translated IPv6 address (::ffff:0:0:0/96)", embeds: "last32" },
  { cidr: "::/96", reason: "an IPv4-compatible IPv6 address (::/96)", embeds: "last32" },
  { cidr: "64:ff9b::/96", reason: "a NAT64 address (64:ff9b::/96)", embeds: "last32" },
  // Where the IPv4 address sits depends on the prefix length a local operator chose (RFC 8215),
  // and only a local translator serves it: refused whole rather than guessed at.
  { cidr: "64:ff9b:1::/48", reason: "local-use NAT64 (64:ff9b:1::/48), served only by a local translator" },
  { cidr: "100::/64", reason: "discard-only (100::/64)" },
  { cidr: "2001::/32", reason: "a Teredo address (2001::/32)", embeds: "teredo" },
  { cidr: "2001:2::/48", reason: "benchmarking (2001:2::/48)" },
  { cidr: "2001:db8::/32", reason: "documentation (2001:db8::/32)" },
  { cidr: "2002::/16", reason: "a 6to4 address (2002::/16)", embeds: "sixToFour" },
  { cidr: "3fff::/20", reason: "documentation (3fff::/20)" },
  { cidr: "fc00::/7", reason: "unique local (fc00::/7)" },
  { cidr: "fec0::/10", reason: "site-local (fec0::/10)" },
  { cidr: "fe80::/10", reason: "link-local (fe80::/10)" },
  { cidr: "ff00::/8", reason: "multicast (ff00::/8)" },
];

/** The only IPv6 space assigned for public unicast. */
export const IPV6_GLOBAL_UNICAST = "2000::/3";
export const IPV6_DEFAULT_REASON = "outside global unicast (2000::/3): reserved or unassigned";
export const PUBLIC_REASON = "public unicast";
