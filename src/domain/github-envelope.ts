import { fromBase64, toBase64 } from "./bytes.ts";
import { goJsonObject } from "./go-json.ts";

/**
 * Hookbot's `?extra-metadata=github` envelope (sensiblecodeio/hookbot, pkg/hookbot/hookbot.go,
 * ServePublish): the webhook's headers and body marshalled by Go from a map[string]interface{}
 * whose Payload is a []byte. So the keys come sorted, every value is a string ("" when the header
 * is missing), and Payload is the body in standard base64 with padding:
 *
 *   {"Delivery":"<X-GitHub-Delivery>","Event":"<X-GitHub-Event>","Payload":"<base64 body>","Signature":"<X-Hub-Signature>"}
 */

/** The one value of `?extra-metadata=` that Hookbot (and hookd) knows. */
export const GITHUB_EXTRA_METADATA = "github";
export const GITHUB_ENVELOPE_CONTENT_TYPE = "application/json";

export type GitHubWebhook = {
  delivery: string;
  event: string;
  /** X-Hub-Signature as GitHub sent it (sha1=…): Hookbot's envelope has no field for X-Hub-Signature-256. */
  signature: string;
  /** null when the envelope's Payload is missing or null (Go's nil []byte). */
  payload: Uint8Array | null;
};

export class GitHubEnvelopeError extends Error {}

export function encodeGitHubEnvelope(webhook: GitHubWebhook): Uint8Array {
  const payload = webhook.payload === null ? "" : toBase64(webhook.payload);
  // The payload is base64, which has no character Go escapes, so one goJsonObject gives Hookbot's bytes.
  return new TextEncoder().encode(
    goJsonObject({ Delivery: webhook.delivery, Event: webhook.event, Payload: payload, Signature: webhook.signature }),
  );
}

const STD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Reads an envelope the way Hookbot's router does (json.Unmarshal into a struct of Event and
 * Signature strings and a Payload []byte): field names match case-insensitively, a missing or null
 * field keeps its zero value, a wrongly typed one is an error, and Payload must be standard base64.
 */
export function decodeGitHubEnvelope(body: Uint8Array): GitHubWebhook {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(body));
  } catch {
    throw new GitHubEnvelopeError("the body is not JSON");
  }
  const webhook: GitHubWebhook = { delivery: "", event: "", signature: "", payload: null };
  if (parsed === null) return webhook;
  if (typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new GitHubEnvelopeError("the body is not a JSON object");
  }
  for (const [key, value] of Object.entries(parsed)) {
    const field = key.toLowerCase();
    if (field !== "delivery" && field !== "event" && field !== "signature" && field !== "payload") continue;
    if (value === null) continue;
    // Hookbot's router has no Delivery field, so a Delivery of another type is ignored there, not an error.
    if (field === "delivery" && typeof value !== "string") continue;
    if (typeof value !== "string") throw new GitHubEnvelopeError(`${key} is not a string`);
    if (field === "payload") {
      // Go's base64 decoder skips line breaks but is otherwise strict about the alphabet and padding.
      const text = value.replace(/[\r\n]/g, "");
      if (!STD_BASE64.test(text)) throw new GitHubEnvelopeError("Payload is not standard base64");
      webhook.payload = fromBase64(text);
    } else {
      webhook[field] = value;
    }
  }
  return webhook;
}
