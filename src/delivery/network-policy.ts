import ipaddr from "ipaddr.js";
import { classifyIp, type IpAddress, parseIp } from "../domain/ip-verdict.ts";

/** The policy's answer: may hookd connect, and why (said in the 422 at ingest and in a failed attempt). */
export type PolicyVerdict = { readonly allowed: boolean; readonly reason: string };

/**
 * Which addresses hookd may connect to: the public ones (src/domain/ip-verdict.ts), plus whatever
 * HOOKD_ALLOWED_NETWORKS names.
 *
 * An allowed CIDR applies to the address as written. An allowed IPv4 CIDR also covers the
 * IPv4-mapped form (::ffff:127.0.0.1), because a socket connects to that over IPv4, to that very
 * host. It does not cover the other forms that embed an IPv4 address (IPv4-compatible, NAT64, 6to4,
 * Teredo): those are routed as IPv6, through whatever relay or translator the route leads to, not
 * to the IPv4 host the operator meant. Allow such a form by naming its IPv6 range.
 */
export class NetworkPolicy {
  readonly #allowed: { cidr: string; range: [IpAddress, number] }[];
  // Ingest checks the same few literal hosts over and over; parsing an address is most of the check's cost.
  readonly #literals = new Map<string, PolicyVerdict | null>();
  static readonly LITERAL_CACHE_LIMIT = 10_000;

  constructor(allowedCidrs: readonly string[]) {
    this.#allowed = allowedCidrs.map((cidr) => ({ cidr, range: ipaddr.parseCIDR(cidr) }));
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
    return parseIp(host) !== undefined;
  }

  /** For a host as a URL names it: the verdict when it is an IP literal, null for a name (names are checked after DNS). */
  literalVerdict(host: string): PolicyVerdict | null {
    let verdict = this.#literals.get(host);
    if (verdict === undefined) {
      verdict = NetworkPolicy.isIpLiteral(host) ? this.verdict(host) : null;
      if (this.#literals.size >= NetworkPolicy.LITERAL_CACHE_LIMIT) this.#literals.clear();
      this.#literals.set(host, verdict);
    }
    return verdict;
  }

  /** For a host as a URL names it: true when it is an IP literal hookd may not connect to. */
  isForbiddenLiteral(host: string): boolean {
    return this.literalVerdict(host)?.allowed === false;
  }

  isForbidden(address: string): boolean {
    return !this.verdict(address).allowed;
  }

  verdict(address: string): PolicyVerdict {
    const parsed = parseIp(address);
    if (!parsed) return { allowed: false, reason: "not an IP address" };
    const allowedBy = this.#allowedBy(parsed);
    if (allowedBy) return { allowed: true, reason: `allowed by HOOKD_ALLOWED_NETWORKS (${allowedBy})` };
    const verdict = classifyIp(parsed);
    if (verdict.public) return { allowed: true, reason: verdict.reason };
    const inner = verdict.embedded?.ipv4;
    const mapped = parsed.kind() === "ipv6" && (parsed as ipaddr.IPv6).isIPv4MappedAddress();
    if (inner && mapped) {
      const innerAllowedBy = this.#allowedBy(inner);
      if (innerAllowedBy) return { allowed: true, reason: `allowed by HOOKD_ALLOWED_NETWORKS (${innerAllowedBy})` };
    } else if (inner && this.#allowedBy(inner)) {
      return {
        allowed: false,
        reason: `${verdict.reason}; an allowed IPv4 network covers only the IPv4 and IPv4-mapped forms`,
      };
    }
    return { allowed: false, reason: verdict.reason };
  }

  #allowedBy(address: IpAddress): string | undefined {
    return this.#allowed.find(({ range }) => range[0].kind() === address.kind() && address.match(range))?.cidr;
  }
}
