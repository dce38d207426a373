import type { NetworkPolicy } from "../delivery/network-policy.ts";
import { badRequest, unprocessable } from "./problem.ts";

/**
 * Checks a delivery target at ingest: an absolute http(s) URL whose host, if it is an IP literal,
 * is in an allowed network. Names are checked again, after DNS, on every attempt.
 */
const REPORT_FIELDS = new Set(["_callback", "_errback", "callback_url", "errback_url"]);

export function validateTarget(raw: string | undefined | null, field: string, policy: NetworkPolicy): URL {
  // A report URL is optional: only an empty one comes here, and "required" would mislead.
  if (!raw && REPORT_FIELDS.has(field)) {
    throw badRequest(
      `"${field}" is empty: send the absolute http(s) URL to report to, or leave it out (on a subscription, null removes it).`,
      { field },
    );
  }
  if (!raw) {
    const hint = field === "_url" ? " (or _topic, to publish to a topic)" : "";
    throw badRequest(`"${field}" is required: the absolute http(s) URL to deliver to${hint}.`, { field });
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw badRequest(
      `"${field}" is not a URL: "${raw.slice(0, 200)}". Send an absolute URL such as https://example.com/hook.`,
      { field },
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw badRequest(`"${field}" must use http or https, not ${url.protocol.slice(0, -1)}.`, { field });
  }
  if (url.username || url.password) {
    throw badRequest(`"${field}" must not carry credentials in the URL; send them as a header instead.`, { field });
  }
  const verdict = policy.literalVerdict(url.hostname);
  if (verdict && !verdict.allowed) {
    throw unprocessable(
      "forbidden-target",
      `${url.hostname} is ${verdict.reason}, not a public address. Deliver to a public address, or allow the network with HOOKD_ALLOWED_NETWORKS.`,
      { field },
    );
  }
  return url;
}
