import { describe, expect, it } from "vitest";
import { passedResponseHeaders } from "./inline-answer-headers.ts";

describe("the receiver's headers in an inline answer", () => {
  it("passes what describes the answer and keeps back what would act on hookd's origin or connection", () => {
    const passed = passedResponseHeaders({
      "content-type": "application/json",
      "cache-control": "no-store",
      "etag": '"1"',
      "retry-after": "5",
      "x-request-id": "abc",
      "connection": "keep-alive, x-hop",
      "x-hop": "1",
      "keep-alive": "timeout=5",
      "transfer-encoding": "chunked",
      "content-length": "12",
      "content-encoding": "gzip",
      "set-cookie": "a=1",
      "www-authenticate": "Basic",
      "strict-transport-security": "max-age=1",
      "access-control-allow-origin": "*",
      "content-security-policy": "default-src *",
      "hookd-delivery-state": "forged",
      "preference-applied": "wait=1",
      "idempotent-replayed": "true",
      "location": "/relative",
    });
    expect(passed).toEqual({
      "content-type": "application/json",
      "cache-control": "no-store",
      "etag": '"1"',
      "retry-after": "5",
      "x-request-id": "abc",
    });
  });

  it("passes an absolute Location", () => {
    expect(passedResponseHeaders({ location: "https://example.com/orders/1" })).toEqual({
      location: "https://example.com/orders/1",
    });
  });
});
