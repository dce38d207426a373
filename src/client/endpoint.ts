/**
 * A hookd URL and the headers that authorize a request to it. fetch refuses URLs that carry
 * credentials, yet `hookd make-tokens` prints URLs with the token as the user name, so such a
 * token moves into an Authorization header.
 */
export function endpoint(url: string | URL, token: string | undefined): { url: URL; headers: Headers } {
  const target = new URL(url);
  const fromUrl = decodeURIComponent(target.username || target.password);
  target.username = "";
  target.password = "";
  const headers = new Headers();
  const chosen = token ?? (fromUrl || undefined);
  if (chosen !== undefined) headers.set("authorization", `Bearer ${chosen}`);
  return { url: target, headers };
}

/** `path` (starting with "/") below the base URL, which may itself have a path (hookd behind a proxy prefix). */
export function below(base: URL, path: string): URL {
  const url = new URL(base);
  url.pathname = base.pathname.replace(/\/+$/, "") + path;
  url.search = "";
  return url;
}

/** A topic as a URL path: each segment percent-encoded, the "/" between them kept. */
export function topicPath(topic: string): string {
  return topic.split("/").map(encodeURIComponent).join("/");
}
