import ipaddr from "ipaddr.js";

/**
 * Which addresses hookd may connect to. Only public unicast is allowed by default; private,
 * loopback, link-local, unspecified, multicast, reserved and the IPv6 ranges that embed IPv4
 * addresses are refused unless a configured CIDR allows them.
 */
export class NetworkPolicy {
  readonly #allowed: [ipaddr.IPv4 | ipaddr.IPv6, number][];
  // Ingest checks the same few literal hosts over and over; parsing an address is most of the check's cost.
  readonly #literals = new Map<string, boolean>();
  static readonly LITERAL_CACHE_LIMIT = 10_000;

  constructor(allowedCidrs: readonly string[]) {
    this.#allowed = allowedCidrs.map((cidr) => ipaddr.parseCIDR(cidr));
  }

  static validateCidr(cidr: string): boolean {
    try {
      ipaddr.parseCIDR(cidr);
      return true;
    } catch {
      return false;
    }
  }

  static isIpLiteral(host: string): boolean {
    return ipaddr.isValid(stripBrackets(host));
  }

  /** For a host as a URL names it: true when it is an IP literal in a forbidden range (names are checked after DNS). */
  isForbiddenLiteral(host: string): boolean {
    let forbidden = this.#literals.get(host);
    if (forbidden === undefined) {
      forbidden = NetworkPolicy.isIpLiteral(host) && this.isForbidden(host);
      if (this.#literals.size >= NetworkPolicy.LITERAL_CACHE_LIMIT) this.#literals.clear();
      this.#literals.set(host, forbidden);
    }
    return forbidden;
  }

  isForbidden(address: string): boolean {
    let parsed: ipaddr.IPv4 | ipaddr.IPv6;
    try {
      // process() turns IPv4-mapped IPv6 (::ffff:127.0.0.1) into the IPv4 address it carries.
      parsed = ipaddr.process(stripBrackets(address));
    } catch {
      return true;
    }
    for (const [range, bits] of this.#allowed) {
      if (range.kind() === parsed.kind() && parsed.match(range, bits)) return false;
    }
    return parsed.range() !== "unicast";
  }
}

function stripBrackets(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}
