import { fromBase64 } from "../domain/bytes.ts";
import type { DeliveryRequest } from "../domain/delivery-events.ts";
import { signStandardWebhook } from "../domain/sign-standard-webhooks.ts";
import { signWebSub } from "../domain/sign-websub.ts";
import { DEFAULT_DIALECT, type Dialect } from "../domain/signing-dialect.ts";
import type { OutboundRequest } from "./http-attempt.ts";

// Hop-by-hop and framing headers belong to the connection hookd makes, not to the caller; webhook-* are hookd's
// signature, and Hookd-Delivery-Id its name for the delivery.
const RESERVED =
  /^(host|content-length|connection|keep-alive|transfer-encoding|te|trailer|upgrade|proxy-.*|webhook-(id|timestamp|signature)|hookd-delivery-id)$/i;

export const USER_AGENT = "hookd/0.1";

/** The request for one attempt: the stored request, signed in the delivery's dialect when there are secrets. */
export async function buildOutboundRequest(input: {
  deliveryId: string;
  request: DeliveryRequest;
  /** The body when it is stored elsewhere (fan-out: the topic log); else the request's own. */
  body?: Uint8Array;
  secrets: readonly string[];
  dialect?: Dialect | undefined;
  now: number;
}): Promise<OutboundRequest> {
  const body = input.body ?? fromBase64(input.request.body);
  // Every delivery names itself, signed or not and in every dialect: the id to drop duplicates by and to give /verify.
  const headers: Record<string, string> = { "user-agent": USER_AGENT, "hookd-delivery-id": input.deliveryId };
  for (const [name, value] of Object.entries(input.request.headers)) {
    if (!RESERVED.test(name)) headers[name.toLowerCase()] = value;
  }
  const dialect = input.dialect ?? DEFAULT_DIALECT;
  if (dialect === "websub" && input.secrets[0] !== undefined) {
    headers["x-hub-signature"] = await signWebSub(input.secrets[0], body);
  }
  if (dialect === "standard-webhooks" && input.secrets.length > 0) {
    // webhook-id stays the same on every retry, so receivers can drop duplicates of an at-least-once delivery.
    const timestampSeconds = Math.floor(input.now / 1000);
    headers["webhook-id"] = input.deliveryId;
    headers["webhook-timestamp"] = String(timestampSeconds);
    headers["webhook-signature"] = await signStandardWebhook({
      secrets: input.secrets,
      id: input.deliveryId,
      timestampSeconds,
      body,
    });
  }
  return { url: input.request.url, method: input.request.method, headers, body };
}
