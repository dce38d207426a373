import { describe, expect, it } from "vitest";
import type { DeliveryCreated } from "./delivery-events.ts";
import { deliveryConflicts, deliveryRequestDigest, deliveryRequestDigests } from "./idempotency.ts";
import { SecretBox } from "./secret-box.ts";

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

  it("names a callback or errback URL that differs, though the digest leaves them out", async () => {
    const first = { ...(await created()), callbackUrl: "https://example.com/reports" };
    expect(deliveryConflicts(first, { ...(await created()), callbackUrl: "https://example.com/reports" })).toEqual([]);
    expect(deliveryConflicts(first, await created())).toEqual(["callback_url"]);
    expect(deliveryConflicts(first, { ...(await created({ body: "aG8=" })), errbackUrl: "https://example.com/e" }))
      .toEqual(["body", "callback_url", "errback_url"]);
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

describe("an Idempotency-Key's request digest", () => {
  const input = { source: "api", request, givenSecrets: ["whsec_guessable"] };

  it("is keyed, so a dump of the journal cannot be guessed against without the secrets key", async () => {
    const box = await SecretBox.fromKeys("secrets-key-0123456789");
    const [stored, ...others] = await deliveryRequestDigests(input, (text) => box.fingerprints(text));
    expect(stored).toMatch(/^hmac:/);
    expect(others).toEqual([await deliveryRequestDigest(input)]);
    const otherKey = await SecretBox.fromKeys("another-key-0123456789");
    expect((await deliveryRequestDigests(input, (text) => otherKey.fingerprints(text)))[0]).not.toBe(stored);
  });

  it("still recognises a first request stored under the previous key, or with the plain digest", async () => {
    const before = await SecretBox.fromKeys("old-secrets-key-012345");
    const after = await SecretBox.fromKeys("new-secrets-key-012345", ["old-secrets-key-012345"]);
    const [storedBefore] = await deliveryRequestDigests(input, (text) => before.fingerprints(text));
    const first = { ...(await created()), requestDigest: storedBefore };
    const againDigests = await deliveryRequestDigests(input, (text) => after.fingerprints(text));
    const again = { ...(await created()), requestDigest: againDigests[0] };
    expect(deliveryConflicts(first, again, againDigests)).toEqual([]);
    const legacy = { ...(await created()), requestDigest: await deliveryRequestDigest(input) };
    expect(deliveryConflicts(legacy, again, againDigests)).toEqual([]);
    const otherSecret = await deliveryRequestDigests(
      { ...input, givenSecrets: ["whsec_other"] },
      (text) => after.fingerprints(text),
    );
    expect(deliveryConflicts(first, again, otherSecret)).toEqual(["secret"]);
  });
});
