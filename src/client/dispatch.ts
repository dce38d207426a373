import { toBase64 } from "../domain/bytes.ts";
import { below, endpoint } from "./endpoint.ts";
import { errorFromResponse } from "./hookd-error.ts";

/** POST /api/v1/deliveries: hookd delivers one webhook, signed and retried, and journals every attempt. */

export type DispatchRequest = {
  /** The absolute http(s) URL to deliver to. */
  url: string;
  method?: "POST" | "PUT" | "PATCH" | "DELETE" | "GET" | undefined;
  headers?: Record<string, string> | undefined;
  /** A string is sent as UTF-8 text, bytes as they are, anything else as JSON. */
  body?: unknown;
  contentType?: string | undefined;
  /** A Standard Webhooks secret (whsec_…) that signs this delivery instead of the server's. */
  secret?: string | undefined;
};

export type DispatchOptions = {
  /** The token for /api/v1/deliveries (or /). */
  token?: string | undefined;
  /** The same key within hookd's idempotency window creates (and delivers) once. */
  idempotencyKey?: string | undefined;
  signal?: AbortSignal | undefined;
};

export async function dispatch(
  baseUrl: string | URL,
  request: DispatchRequest,
  options: DispatchOptions = {},
): Promise<{ id: string }> {
  const base = endpoint(baseUrl, options.token);
  const headers = base.headers;
  headers.set("content-type", "application/json");
  if (options.idempotencyKey !== undefined) headers.set("idempotency-key", options.idempotencyKey);
  const { body, contentType, ...rest } = request;
  const payload = {
    ...rest,
    ...(body instanceof Uint8Array ? { body_base64: toBase64(body) } : body !== undefined ? { body } : {}),
    ...(contentType !== undefined ? { content_type: contentType } : {}),
  };
  const response = await fetch(below(base.url, "/api/v1/deliveries"), {
    method: "POST",
    headers,
    body: JSON.stringify(payload),
    signal: options.signal,
  });
  if (!response.ok) throw await errorFromResponse(response);
  const { id } = (await response.json()) as { id: string };
  return { id };
}
