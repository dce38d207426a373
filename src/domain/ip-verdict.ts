import ipaddr from "ipaddr.js";
import {
  type Embedding,
  IPV4_RULES,
  IPV6_DEFAULT_REASON,
  IPV6_GLOBAL_UNICAST,
  IPV6_RULES,
  PUBLIC_REASON,
  type RangeRule,
} from "./ip-ranges.ts";

/**
 * Whether an IP address is public, and why, from the tables in ip-ranges.ts. Pure: it depends only
 * on ipaddr.js, which parses and matches addresses without I/O, so the verdict is the same on Node
 * and Deno and in a unit test. What the operator allows (HOOKD_ALLOWED_NETWORKS) is applied on top,
 * in src/delivery/network-policy.ts.
 *
 * @module
 */

export type IpAddress = ipaddr.IPv4 | ipaddr.IPv6;

export type IpVerdict = {
  readonly public: boolean;
  /** A noun phrase: "loopback (127.0.0.0/8)", "a 6to4 address (2002::/16) embedding 10.0.0.1, which is private (10.0.0.0/8)". */
  readonly reason: string;
  /** For IPv6 forms that carry an IPv4 address: which form, and the address inside. */
  readonly embedded?: { readonly form: Embedding; readonly ipv4: ipaddr.IPv4 };
};

type CompiledRule = RangeRule & { readonly range: [IpAddress, number] };
const compile = (rules: readonly RangeRule[]): readonly CompiledRule[] =>
  rules.map((rule) => ({ ...rule, range: ipaddr.parseCIDR(rule.cidr) }));
const V4 = compile(IPV4_RULES);
const V6 = compile(IPV6_RULES);
const GLOBAL_UNICAST = ipaddr.parseCIDR(IPV6_GLOBAL_UNICAST);

/**
 * Parses an address as a URL host or a DNS answer spells it: bracketed or not, compressed or not,
 * with a dotted IPv4 tail or not. Undefined when it is not an IP address.
 */
export function parseIp(text: string): IpAddress | undefined {
  const bare = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  const spelled = bare.includes(":") ? dottedTailToHex(bare) : bare;
  if (spelled === undefined || !ipaddr.isValid(spelled)) return undefined;
  return ipaddr.parse(spelled);
}

/**
 * ipaddr.js reads "::a.b.c.d" as ::ffff:a.b.c.d (an old shorthand), but "::10.0.0.1" is the
 * IPv4-compatible ::a00:1, and glibc prints such addresses that way. Writing the dotted tail in hex
 * makes ipaddr.js read what the text says.
 */
function dottedTailToHex(text: string): string | undefined {
  const match = /^(.*:)(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(%.*)?$/.exec(text);
  if (!match) return text;
  const octets = match.slice(2, 6).map(Number);
  if (octets.some((octet) => octet > 255)) return undefined;
  const [a, b, c, d] = octets as [number, number, number, number];
  return `${match[1]}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}${match[6] ?? ""}`;
}

export function classifyIp(address: IpAddress): IpVerdict {
  if (address.kind() === "ipv4") {
    const rule = V4.find((entry) => address.match(entry.range));
    return rule ? { public: false, reason: rule.reason } : { public: true, reason: PUBLIC_REASON };
  }
  const v6 = address as ipaddr.IPv6;
  const rule = V6.find((entry) => v6.match(entry.range));
  if (rule?.embeds) return classifyEmbedded(rule, embeddedIpv4(v6, rule.embeds));
  if (rule) return { public: false, reason: rule.reason };
  return v6.match(GLOBAL_UNICAST)
    ? { public: true, reason: PUBLIC_REASON }
    : { public: false, reason: IPV6_DEFAULT_REASON };
}

/** The verdict of an embedding form is the verdict of the IPv4 address it carries. */
function classifyEmbedded(rule: CompiledRule, ipv4: ipaddr.IPv4): IpVerdict {
  const inner = classifyIp(ipv4);
  return {
    public: inner.public,
    reason: `${rule.reason} embedding ${ipv4.toString()}, which is ${inner.reason}`,
    embedded: { form: rule.embeds!, ipv4 },
  };
}

/** Where each form keeps its IPv4 address (RFC 4291, 6052, 3056, 4380). */
export function embeddedIpv4(address: ipaddr.IPv6, form: Embedding): ipaddr.IPv4 {
  const parts = address.parts;
  const fromWords = (high: number, low: number) => new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
  switch (form) {
    case "last32":
      return fromWords(parts[6]!, parts[7]!);
    case "sixToFour": // bits 16–47
      return fromWords(parts[1]!, parts[2]!);
    case "teredo": // the client's address, obscured: the last 32 bits XOR 0xffffffff
      return fromWords(parts[6]! ^ 0xffff, parts[7]! ^ 0xffff);
  }
}
