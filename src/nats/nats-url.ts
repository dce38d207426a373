/**
 * NATS_URL: one server or a comma-separated list (`nats://a:4222,nats://b:4222`), each `nats://`,
 * `tls://` or a bare `host:port`, optionally carrying `user:password@` or a token (`token@`). nats.js
 * ignores credentials in a URL, so hookd takes them out here and hands them over as options; the list
 * without them is what hookd logs.
 */

export type UrlAuth = { kind: "user"; user: string; pass: string } | { kind: "token"; token: string };

export type NatsUrl = {
  /** The servers, without credentials, as nats.js takes them. */
  servers: string[];
  /** The credentials the URL carries (the same on every server that carries any). */
  auth: UrlAuth | null;
  /** Some server is a tls:// one: the connection must use TLS. */
  tls: boolean;
};

const SCHEMES = new Set(["nats:", "tls:"]);

/** Each server as a URL; throws an Error whose message says what is wrong (never the credentials). */
function serverUrls(text: string): URL[] {
  const items = text.split(",").map((item) => item.trim()).filter(Boolean);
  if (items.length === 0) throw new Error("names no server; give nats://host:4222 (or several, comma-separated)");
  return items.map((item, index) => {
    const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(item) ? item : `nats://${item}`;
    let url: URL;
    try {
      url = new URL(withScheme);
    } catch {
      throw new Error(`server ${index + 1} is not a URL such as nats://host:4222`);
    }
    if (!SCHEMES.has(url.protocol)) {
      throw new Error(`server ${index + 1} uses ${url.protocol}//; hookd connects with nats:// or tls://`);
    }
    if (url.hostname === "" || (url.pathname !== "" && url.pathname !== "/") || url.search || url.hash) {
      throw new Error(`server ${index + 1} must be scheme://host:port, nothing more`);
    }
    return url;
  });
}

/** A %-escape of user or password, said in words (decodeURIComponent's own is "URI malformed"). */
function unescaped(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new Error("user or password has an invalid %-escape; percent-encode @ : / % in them (% as %25)");
  }
}

function authOf(url: URL): UrlAuth | null {
  if (url.username === "" && url.password === "") return null;
  const user = unescaped(url.username);
  // nats://token@host: a user name with no password is a token, as NATS's own clients read it.
  if (url.password === "") return { kind: "token", token: user };
  return { kind: "user", user, pass: unescaped(url.password) };
}

const sameAuth = (a: UrlAuth, b: UrlAuth) => JSON.stringify(a) === JSON.stringify(b);

export function parseNatsUrl(text: string): NatsUrl {
  const urls = serverUrls(text);
  let auth: UrlAuth | null = null;
  for (const url of urls) {
    const found = authOf(url);
    if (found === null) continue;
    if (auth !== null && !sameAuth(auth, found)) {
      throw new Error("carries different credentials on different servers; hookd connects as one user");
    }
    auth = found;
  }
  const servers = urls.map((url) => `${url.protocol}//${url.host}`);
  return { servers, auth, tls: urls.some((url) => url.protocol === "tls:") };
}

/** NATS_URL as hookd logs it: each server without its credentials. Unparsable text gives a placeholder. */
export function displayNatsUrl(text: string): string {
  try {
    return parseNatsUrl(text).servers.join(",");
  } catch {
    return "(NATS_URL)";
  }
}
