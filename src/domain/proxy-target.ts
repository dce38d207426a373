/**
 * Hookah's proxy form: `POST /example.com/user/callback?x=1` is a delivery to
 * `http://example.com/user/callback?x=1`. The first path segment is the target's authority, and it
 * is taken only when it looks like one: a name with a dot, a name or address with a port,
 * `localhost`, or a bracketed IPv6 address. A segment with none of these (`api`, `dispatch`, `pub`,
 * any route hookd has or may add) is never a target, so the form cannot shadow hookd's own routes.
 *
 * https is named by port 443: `/example.com:443/hook` is `https://example.com/hook`. A port is part
 * of the authority every URL parser, proxy and normaliser leaves alone, unlike a scheme in the path
 * (`/https://…` has its `//` merged by proxies and normalisers) or a reserved query parameter (which
 * would take a name from the receiver's own query string). http on port 443 and https on another
 * port are not expressible in this form; /dispatch?_url= takes any URL.
 */

const NAME = "[A-Za-z0-9_-]+";
/** The first segment's shape, as a regular expression source without anchors or capturing groups (a route pattern). */
export const HOST_SEGMENT =
  `(?:${NAME}(?:\\.${NAME})*:[0-9]+|${NAME}(?:\\.${NAME})+|localhost|\\[[0-9A-Fa-f:.]+\\](?::[0-9]+)?)`;

const HOST_SEGMENT_EXACT = new RegExp(`^${HOST_SEGMENT}$`);
const HTTPS_PORT = /:443$/;

/** Whether a path's first segment names a target (the form would capture the path). */
export function isProxyPath(pathname: string): boolean {
  const first = pathname.split("/", 2)[1] ?? "";
  return HOST_SEGMENT_EXACT.test(first);
}

/**
 * The target URL of a proxy-form request, from its path (as the request has it, percent-encoding
 * kept) and its query string ("?…" or ""), forwarded byte for byte; null when the path is not the form.
 */
export function proxyTargetUrl(pathname: string, search: string): string | null {
  const slash = pathname.indexOf("/", 1);
  const authority = slash < 0 ? pathname.slice(1) : pathname.slice(1, slash);
  if (!HOST_SEGMENT_EXACT.test(authority)) return null;
  const rest = slash < 0 ? "/" : pathname.slice(slash);
  const scheme = HTTPS_PORT.test(authority) ? "https" : "http";
  return `${scheme}://${authority.replace(HTTPS_PORT, "")}${rest}${search}`;
}

/**
 * The proxy-form path that names a URL (without its query), as auth checks a token against it; null
 * when the form cannot name it (https on a port other than 443, http on 443, a host with no dot).
 */
export function proxyPathOf(url: URL): string | null {
  const https = url.protocol === "https:";
  if (!https && url.protocol !== "http:") return null;
  // URL leaves out the scheme's default port: "" is 443 for https and 80 for http.
  if (https ? url.port !== "" : url.port === "443") return null;
  const authority = https ? `${url.hostname}:443` : url.host;
  return HOST_SEGMENT_EXACT.test(authority) ? `/${authority}${url.pathname}` : null;
}

/** Query parameters that are hookd's, not the receiver's, in the proxy form (http/dispatch-controls.ts). */
export const RESERVED_PARAMETERS: ReadonlySet<string> = new Set(["_wait", "_callback", "_errback"]);

/** A query string ("?…" or "") without hookd's reserved parameters, every other byte kept as sent. */
export function withoutReservedParameters(search: string): string {
  if (!search.includes("_")) return search;
  const kept = search.slice(1).split("&").filter((pair) => {
    const name = pair.split("=", 1)[0]!;
    let decoded = name;
    try {
      decoded = decodeURIComponent(name.replaceAll("+", " "));
    } catch {
      // A malformed escape is not one of hookd's names.
    }
    return !RESERVED_PARAMETERS.has(decoded);
  });
  return kept.length === 0 || (kept.length === 1 && kept[0] === "") ? "" : `?${kept.join("&")}`;
}
