import type { Context } from "hono";

/**
 * The address of the peer that opened the connection: @hono/node-server passes Node's request as
 * `incoming`, Deno.serve its info with `remoteAddr`. Never X-Forwarded-For, which any client can
 * write; behind a proxy every caller is the proxy's address.
 */
export function clientAddress(c: Context): string {
  const env = c.env as
    | { incoming?: { socket?: { remoteAddress?: string } }; remoteAddr?: { hostname?: string } }
    | undefined;
  return env?.incoming?.socket?.remoteAddress ?? env?.remoteAddr?.hostname ?? "unknown";
}
