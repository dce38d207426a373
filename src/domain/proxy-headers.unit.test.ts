import { describe, expect, it } from "vitest";
import { forwardedHeaders } from "./proxy-headers.ts";

describe("the proxy form's forwarded headers", () => {
  it("keeps the message's headers and drops the call's", () => {
    const kept = forwardedHeaders(Object.entries({
      "Content-Type": "application/json",
      "Content-Encoding": "identity",
      "Accept": "application/json",
      "X-Tenant": "acme",
      "If-Match": '"v1"',
      "Host": "hookd:8080",
      "Content-Length": "12",
      "Connection": "keep-alive, X-Hop",
      "X-Hop": "1",
      "Keep-Alive": "timeout=5",
      "Transfer-Encoding": "chunked",
      "TE": "trailers",
      "Upgrade": "h2c",
      "Proxy-Authorization": "Basic x",
      "Authorization": "Bearer hookd-token",
      "Cookie": "session=1",
      "Idempotency-Key": "k1",
      "Hookd-Event-Type": "x",
      "X-Forwarded-For": "203.0.113.9",
      "Forwarded": "for=203.0.113.9",
      "Via": "1.1 proxy",
      "X-Real-IP": "203.0.113.9",
      "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
      "Origin": "https://app.example",
      "Referer": "https://app.example/page",
      "Sec-Fetch-Mode": "cors",
      "User-Agent": "curl/8",
      "Accept-Encoding": "gzip",
      "Expect": "100-continue",
      "Webhook-Signature": "v1,forged",
    }));
    expect(kept).toEqual({
      "content-type": "application/json",
      "content-encoding": "identity",
      "accept": "application/json",
      "x-tenant": "acme",
      "if-match": '"v1"',
    });
  });
});
