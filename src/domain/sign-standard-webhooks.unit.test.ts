import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { utf8 } from "./bytes.ts";
import { encodeSecret, isValidSecret, signStandardWebhook } from "./sign-standard-webhooks.ts";

describe("Standard Webhooks signing", () => {
  const secretA = encodeSecret(new Uint8Array(32).fill(7));
  const secretB = encodeSecret(new Uint8Array(32).fill(9));
  const body = '{"hello":"world"}';
  const timestampSeconds = Math.floor(Date.now() / 1000);

  it("verifies with the reference library", async () => {
    const signature = await signStandardWebhook({
      secrets: [secretA],
      id: "msg_1",
      timestampSeconds,
      body: utf8(body),
    });
    const headers = {
      "webhook-id": "msg_1",
      "webhook-timestamp": String(timestampSeconds),
      "webhook-signature": signature,
    };
    expect(new Webhook(secretA).verify(body, headers)).toEqual({ hello: "world" });
    expect(() => new Webhook(secretB).verify(body, headers)).toThrow();
    expect(() => new Webhook(secretA).verify(body + " ", headers)).toThrow();
  });
  it("signs with every secret during a rotation, each verifiable alone", async () => {
    const signature = await signStandardWebhook({
      secrets: [secretA, secretB],
      id: "msg_2",
      timestampSeconds,
      body: utf8(body),
    });
    expect(signature.split(" ")).toHaveLength(2);
    const headers = {
      "webhook-id": "msg_2",
      "webhook-timestamp": String(timestampSeconds),
      "webhook-signature": signature,
    };
    expect(new Webhook(secretA).verify(body, headers)).toEqual({ hello: "world" });
    expect(new Webhook(secretB).verify(body, headers)).toEqual({ hello: "world" });
  });
  it("validates secrets", () => {
    expect(isValidSecret(secretA)).toBe(true);
    expect(isValidSecret("whsec_short")).toBe(false);
    expect(isValidSecret("not-a-secret")).toBe(false);
  });
});
