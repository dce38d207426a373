import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import type { NatsConnection } from "@nats-io/transport-node";
import { SecretBox } from "../src/domain/secret-box.ts";
import { createLayout } from "../src/nats/layout.ts";
import { encodeSecret } from "../src/domain/sign-standard-webhooks.ts";
import { api, startTestHookd } from "./support/hookd.ts";
import { everyStoredMessage } from "./support/stream-messages.ts";
import { hookdSuite } from "./support/suite.ts";

/**
 * Rotating HOOKD_SECRETS_KEY (docs/security.md, "Rotating the key"): the old key moves to
 * HOOKD_SECRETS_KEY_PREVIOUS, `POST /api/v1/secrets/reseal` seals everything hookd opens again under
 * the new one, and the old key can then go. An instance without the key a secret is sealed under
 * refuses to start, or leaves a delivery waiting, rather than signing wrongly or losing it.
 */

const OLD_KEY = "old-secrets-key-0123456789";
const NEW_KEY = "new-secrets-key-0123456789";
const json = { "content-type": "application/json" };

function verifies(secret: string, request: { body: Buffer; headers: Record<string, unknown> }): boolean {
  try {
    new Webhook(secret).verify(request.body.toString(), request.headers as Record<string, string>);
    return true;
  } catch {
    return false;
  }
}

const { streams } = createLayout();

/** The streams (other than the delivery journal and the queues that carry its created events) with a message holding `needle`. */
async function streamsHolding(nc: NatsConnection, needle: string): Promise<string[]> {
  const holding = new Set<string>();
  for await (const message of everyStoredMessage(nc)) {
    if ([streams.journal, streams.work, streams.ingest].includes(message.stream)) continue;
    if (message.text.includes(needle)) holding.add(message.stream);
  }
  return [...holding];
}

describe("rotating the secrets key", () => {
  const suite = hookdSuite({ hookd: "none", connect: true });

  // Long: one rotation from the first key to the new one alone, each instance started on the last one's NATS state.
  it("re-seals subscriptions and the shared signing secret, after which the old key can go", async () => {
    const first = await startTestHookd(suite.nats.url, { HOOKD_SECRETS_KEY: OLD_KEY });
    const sharedSecret = first.hookd.generatedSigningSecret!;
    const created = await api(first.url, "/api/v1/subscriptions", {
      method: "POST",
      headers: json,
      body: JSON.stringify({ topic: "rotate/sub", url: `${suite.receiver.url}/sub` }),
    });
    expect(created.status).toBe(201);
    const subscriptionSecret = ((await created.json()) as { secret: string }).secret;
    await first.stop();

    // The new key alone cannot open what the old one sealed (the shared signing secret; a subscription,
    // also with a signing secret of the instance's own): start-up says which variable to set.
    await expect(startTestHookd(suite.nats.url, { HOOKD_SECRETS_KEY: NEW_KEY })).rejects.toThrow(
      /HOOKD_SECRETS_KEY_PREVIOUS/,
    );
    const ownSecret = encodeSecret(new Uint8Array(32).fill(22));
    await expect(startTestHookd(suite.nats.url, { HOOKD_SECRETS_KEY: NEW_KEY, HOOKD_SIGNING_SECRET: ownSecret }))
      .rejects.toThrow(/HOOKD_SECRETS_KEY_PREVIOUS/);

    const rotating = await startTestHookd(suite.nats.url, {
      HOOKD_SECRETS_KEY: NEW_KEY,
      HOOKD_SECRETS_KEY_PREVIOUS: OLD_KEY,
    });
    const reseal = () => api(rotating.url, "/api/v1/secrets/reseal", { method: "POST" });
    const report = await reseal();
    expect(report.status).toBe(200);
    expect(await report.json()).toMatchObject({
      subscriptions: { checked: 1, resealed: 1, older_entries_dropped: 1, unopenable: [] },
      signing_secret: "resealed",
    });
    expect(await (await reseal()).json()).toMatchObject({
      subscriptions: { checked: 1, resealed: 0, older_entries_dropped: 0 },
      signing_secret: "current",
    });
    await rotating.stop();
    // Only deliveries made before the rotation still hold texts sealed under the old key.
    const oldKeyId = (await SecretBox.fromKeys(OLD_KEY)).keyId;
    expect(await streamsHolding(suite.nc, `enc:v1:${oldKeyId}:`)).toEqual([]);

    const after = await startTestHookd(suite.nats.url, { HOOKD_SECRETS_KEY: NEW_KEY });
    expect(after.hookd.generatedSigningSecret).toBe(sharedSecret);
    expect((await api(after.url, "/pub/rotate/sub", { method: "POST", headers: json, body: "{}" })).status).toBe(202);
    const target = encodeURIComponent(`${suite.receiver.url}/dispatch`);
    const dispatched = await api(after.url, `/dispatch?_url=${target}`, { method: "POST", headers: json, body: "{}" });
    expect(dispatched.status).toBe(202);
    const requests = await suite.receiver.waitFor(2);
    expect(verifies(subscriptionSecret, requests.find((r) => r.path === "/sub")!)).toBe(true);
    expect(verifies(sharedSecret, requests.find((r) => r.path === "/dispatch")!)).toBe(true);
    await after.stop();
  });
});

describe("a delivery sealed under a key this instance lacks", () => {
  const suite = hookdSuite({ hookd: "none" });
  const signing = encodeSecret(new Uint8Array(32).fill(21));

  it("waits without using an attempt, and goes out once an instance holds the key", { timeout: 70_000 }, async () => {
    const accepting = await startTestHookd(suite.nats.url, {
      HOOKD_SECRETS_KEY: OLD_KEY,
      HOOKD_SIGNING_SECRET: signing,
      HOOKD_WORKERS: "off",
    });
    const target = encodeURIComponent(`${suite.receiver.url}/late`);
    const dispatched = await api(accepting.url, `/dispatch?_url=${target}`, {
      method: "POST",
      headers: json,
      body: "{}",
    });
    expect(dispatched.status).toBe(202);
    const { id } = (await dispatched.json()) as { id: string };
    await accepting.stop();

    const lacking = await startTestHookd(suite.nats.url, { HOOKD_SECRETS_KEY: NEW_KEY, HOOKD_SIGNING_SECRET: signing });
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(suite.receiver.requests).toEqual([]);
    const waiting = (await (await api(lacking.url, `/api/v1/deliveries/${id}`)).json()) as Record<string, unknown>;
    expect(waiting).toMatchObject({ state: "pending", attempts_made: 0 });
    await lacking.stop();

    const holding = await startTestHookd(suite.nats.url, {
      HOOKD_SECRETS_KEY: NEW_KEY,
      HOOKD_SECRETS_KEY_PREVIOUS: OLD_KEY,
      HOOKD_SIGNING_SECRET: signing,
    });
    // The instance that lacked the key handed the work back for 30 s; then one that holds it takes it.
    const [request] = await suite.receiver.waitFor(1, 45_000);
    expect(verifies(signing, request!)).toBe(true);
    await holding.stop();
  });
});
