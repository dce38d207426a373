import { below, endpoint, topicPath } from "./endpoint.ts";
import { errorFromResponse } from "./hookd-error.ts";

/** POST /pub/<topic>: the body is stored byte for byte; listeners and subscriptions get it. */

export type PublishOptions = {
  /** The token for /pub/<topic> or a "/"-ending prefix of it. */
  token?: string | undefined;
  /** The event type (Hookd-Event-Type), such as order.created; subscriptions may filter on it. */
  type?: string | undefined;
  /** Defaults to text/plain for a string body and application/octet-stream for bytes. */
  contentType?: string | undefined;
  /** The same key within hookd's idempotency window publishes once and answers with the first result. */
  idempotencyKey?: string | undefined;
  signal?: AbortSignal | undefined;
};

export type Published = { id: string; seq: number; topic: string };

export async function publish(
  baseUrl: string | URL,
  topic: string,
  body: string | Uint8Array,
  options: PublishOptions = {},
): Promise<Published> {
  const base = endpoint(baseUrl, options.token);
  const headers = base.headers;
  headers.set(
    "content-type",
    options.contentType ?? (typeof body === "string" ? "text/plain; charset=utf-8" : "application/octet-stream"),
  );
  if (options.type !== undefined) headers.set("hookd-event-type", options.type);
  if (options.idempotencyKey !== undefined) headers.set("idempotency-key", options.idempotencyKey);
  const response = await fetch(below(base.url, `/pub/${topicPath(topic)}`), {
    method: "POST",
    headers,
    // A copy: fetch takes only ArrayBuffer-backed views, and the caller's may sit on a SharedArrayBuffer.
    body: typeof body === "string" ? body : new Uint8Array(body),
    signal: options.signal,
  });
  if (!response.ok) throw await errorFromResponse(response);
  return (await response.json()) as Published;
}
