import { describe, expect, it } from "vitest";
import type { DeliveryCreated } from "./delivery-events.ts";
import { deliveryConflicts, deliveryRequestDigest } from "./idempotency.ts";

const request: DeliveryCreated["data"]["request"] = {
  url: "https://example.com/hook",
  method: "POST",
  headers: { "content-type": "text/plain" },
  body: "aGk=",
};

async function created(
  changes: Partial<DeliveryCreated["data"]["request"]> = {},
  givenSecrets: string[] = [],
  storedSecrets = ["whsec_server"],
): Promise<DeliveryCreated["data"]> {
  const data = {
    id: "dlv_1",
    request: { ...request, ...changes },
    schedule: [],
    secrets: storedSecrets,
    source: "api" as const,
  };
  return {
    ...data,
    requestDigest: await deliveryRequestDigest({ source: "api", request: data.request, givenSecrets }),
  };
}

describe("an Idempotency-Key's request, compared", () => {
  it("the same request is no conflict, whatever secret the server signed the first one with", async () => {
    expect(deliveryConflicts(await created({}, [], ["whsec_old"]), await created({}, [], ["whsec_new"]))).toEqual([]);
  });

  it("names what differs, and a secret only the digest can tell apart", async () => {
    expect(deliveryConflicts(await created(), await created({ body: "aG8=", url: "https://example.com/x" })))
      .toEqual(["url", "body"]);
    expect(deliveryConflicts(await created(), await created({ headers: { "content-type": "text/plain", a: "b" } })))
      .toEqual(["headers"]);
    expect(deliveryConflicts(await created(), await created({}, ["whsec_mine"]))).toEqual(["secret"]);
  });

  it("header order is no difference", async () => {
    const a = await created({ headers: { a: "1", b: "2" } });
    const b = await created({ headers: { b: "2", a: "1" } });
    expect(deliveryConflicts(a, b)).toEqual([]);
  });

  it("a first delivery stored before digests were kept is compared by its request alone", async () => {
    const { requestDigest: _none, ...legacy } = await created();
    expect(deliveryConflicts(legacy, await created({}, ["whsec_mine"]))).toEqual([]);
    expect(deliveryConflicts(legacy, await created({ body: "aG8=" }))).toEqual(["body"]);
  });
});
