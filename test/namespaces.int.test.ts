// deno-lint-ignore-file no-explicit-any -- tests read hookd's JSON answers field by field
import { jetstreamManager } from "@nats-io/jetstream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RevocableTokens } from "../src/domain/revocable-tokens.ts";
import { api, eventually, startTestHookd, TEST_KEY, type TestHookd } from "./support/hookd.ts";
import { hookdSuite } from "./support/suite.ts";

/**
 * HOOKD_NAMESPACE: two deployments (alpha and beta) on one nats-server and one account share
 * nothing. Each has its own streams, listed by name; a dispatch, a published event, a subscription,
 * a revoked token and the generated signing secret of one are neither visible to nor delivered by
 * the other, even on the same topic and with the same server key.
 */

const suite = hookdSuite({ hookd: "none", receiver: false, connect: true });
let alpha: TestHookd;
let beta: TestHookd;

beforeAll(async () => {
  alpha = await startTestHookd(suite.nats.url, { HOOKD_NAMESPACE: "alpha" });
  beta = await startTestHookd(suite.nats.url, { HOOKD_NAMESPACE: "beta" });
});

afterAll(async () => {
  await alpha?.stop();
  await beta?.stop();
});

const quiet = (ms = 1_000) => new Promise((resolve) => setTimeout(resolve, ms));
const json = (body: unknown) => ({
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});

describe("two namespaces on one server", () => {
  it("have their own streams, named after the namespace, and none of the default's", async () => {
    const jsm = await jetstreamManager(suite.nc);
    const names: string[] = [];
    for await (const name of jsm.streams.names()) names.push(name);
    const alphas = names.filter((name) => name.startsWith("ALPHA_")).map((name) => name.slice("ALPHA_".length));
    const betas = names.filter((name) => name.startsWith("BETA_")).map((name) => name.slice("BETA_".length));
    expect(alphas.sort()).toEqual(
      [
        "INDEX",
        "INDEXED",
        "INGEST",
        "JOBS",
        "JOURNAL",
        "LINES",
        "RATES",
        "REVOCATIONS",
        "SETTINGS",
        "SUBSCRIPTIONS",
        "TOPICS",
        "WORK",
      ],
    );
    expect(betas.sort()).toEqual(alphas.sort());
    expect(names.length).toBe(alphas.length + betas.length);
    // Every stream holds its own namespace's subjects only.
    for (const name of names) {
      const { config } = await jsm.streams.info(name);
      const prefix = name.startsWith("ALPHA_") ? "alpha." : "beta.";
      for (const subject of config.subjects ?? []) expect(subject.startsWith(prefix), `${name}: ${subject}`).toBe(true);
    }
  });

  it("deliver a dispatch only in the namespace that took it, and show it only there", async () => {
    const receiver = await suite.startReceiver();
    const response = await api(alpha.url, `/dispatch?_url=${encodeURIComponent(`${receiver.url}/a`)}`, {
      method: "POST",
      body: "for alpha",
    });
    expect(response.status).toBe(202);
    const { id } = (await response.json()) as { id: string };
    await receiver.waitFor(1);
    expect((await api(alpha.url, `/api/v1/deliveries/${id}`)).status).toBe(200);
    expect((await api(beta.url, `/api/v1/deliveries/${id}`)).status).toBe(404);
    const listed: any = await (await api(beta.url, "/api/v1/deliveries?limit=100")).json();
    expect(JSON.stringify(listed)).not.toContain(id);
    await quiet();
    expect(receiver.requests.map((request) => request.body.toString())).toEqual(["for alpha"]);
  });

  it("fan a published event out to their own subscriptions on the same topic, and to no other", async () => {
    const [alphaReceiver, betaReceiver] = [await suite.startReceiver(), await suite.startReceiver()];
    const subscribed: string[] = [];
    for (const [hookd, receiver] of [[alpha, alphaReceiver], [beta, betaReceiver]] as const) {
      const response = await api(hookd.url, "/api/v1/subscriptions", json({ topic: "news", url: `${receiver.url}/n` }));
      expect(response.status).toBe(201);
      subscribed.push(((await response.json()) as { id: string }).id);
    }
    for (const [hookd, other] of [[alpha, beta], [beta, alpha]] as const) {
      const listed: any = await (await api(hookd.url, "/api/v1/subscriptions?topic=news")).json();
      expect(JSON.stringify(listed)).toContain(subscribed[hookd === alpha ? 0 : 1]);
      expect(JSON.stringify(listed)).not.toContain(subscribed[other === alpha ? 0 : 1]);
    }

    const published = await api(alpha.url, "/pub/news", { method: "POST", body: "alpha news" });
    expect(published.status).toBe(202);
    const { id: eventId } = (await published.json()) as { id: string };
    await alphaReceiver.waitFor(1);
    expect((await api(beta.url, `/api/v1/events/${eventId}`)).status).toBe(404);
    expect((await api(beta.url, "/pub/news", { method: "POST", body: "beta news" })).status).toBe(202);
    await betaReceiver.waitFor(1);
    await quiet();
    expect(alphaReceiver.requests.map((request) => request.body.toString())).toEqual(["alpha news"]);
    expect(betaReceiver.requests.map((request) => request.body.toString())).toEqual(["beta news"]);
  });

  it("keep their own revocation lists and signing secrets", async () => {
    const token = await new RevocableTokens(TEST_KEY).issue("/api/v1/", null);
    const deliveries = (base: string) =>
      fetch(`${base}/api/v1/deliveries?limit=1`, { headers: { authorization: `Bearer ${token}` } });
    expect((await api(alpha.url, "/api/v1/tokens/revoke", json({ token }))).status).toBe(200);
    await eventually(async () => (await deliveries(alpha.url)).status === 401, 5_000, "alpha to refuse the token");
    await quiet();
    expect((await deliveries(beta.url)).status).toBe(200);

    // Each namespace's first instance made a secret and stored it in its own settings stream.
    const secrets = [alpha.hookd.generatedSigningSecret, beta.hookd.generatedSigningSecret];
    expect(secrets.every((secret) => secret?.startsWith("whsec_"))).toBe(true);
    expect(secrets[0]).not.toBe(secrets[1]);
  });
});
