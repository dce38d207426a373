import { jetstream, type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import { expect } from "vitest";
import { createHttpAttempter } from "../../src/delivery/http-attempt.ts";
import { NetworkPolicy } from "../../src/delivery/network-policy.ts";
import { DeliverySecrets } from "../../src/domain/delivery-secrets.ts";
import { SecretBox } from "../../src/domain/secret-box.ts";
import { createLogger } from "../../src/log.ts";
import { DeliveryStore } from "../../src/nats/delivery-store.ts";
import { JetStreamPublisher } from "../../src/nats/jetstream-publisher.ts";
import { createLayout } from "../../src/nats/layout.ts";
import { DeliveryWorker, type WorkerDeps } from "../../src/runtime/delivery-worker.ts";
import { api, startTestHookd, TEST_KEY, type TestHookd } from "./hookd.ts";
import type { Suite } from "./suite.ts";

export type Attempter = ReturnType<typeof createHttpAttempter>;

/** What a test whose own worker takes the work holds: an instance that takes none, and the parts of a worker. */
export type WithoutWorkers = { front: TestHookd; jsm: JetStreamManager; store: DeliveryStore; attempter: Attempter };

/**
 * Runs `run` beside a hookd with no workers (nothing in it takes the work: the test's own worker does),
 * with a delivery store on the suite's connection and an attempter to loopback receivers; stops them all
 * afterwards.
 */
export async function withoutWorkers(
  suite: Pick<Suite, "nats" | "nc">,
  run: (setup: WithoutWorkers) => Promise<void>,
  attemptTimeoutMs = 5_000,
): Promise<void> {
  const front = await startTestHookd(suite.nats.url, { HOOKD_WORKERS: "off" });
  const publisher = new JetStreamPublisher(suite.nc);
  const attempter = createHttpAttempter({
    timeoutMs: attemptTimeoutMs,
    policy: new NetworkPolicy(["127.0.0.0/8", "::1/128"]),
  });
  try {
    const jsm = await jetstreamManager(suite.nc);
    await run({ front, jsm, store: new DeliveryStore(jetstream(suite.nc), jsm, publisher, createLayout()), attempter });
  } finally {
    await attempter.close();
    await front.stop();
    await publisher.close();
  }
}

/** A delivery made through the API with an idempotency key: straight to the journal, so its work message is the sourced create. */
export async function keyedDelivery(frontUrl: string, targetUrl: string, key: string): Promise<string> {
  const response = await api(frontUrl, "/api/v1/deliveries", {
    method: "POST",
    headers: { "content-type": "application/json", "idempotency-key": key },
    body: JSON.stringify({ url: targetUrl, body: "once" }),
  });
  expect(response.status).toBe(202);
  return ((await response.json()) as { id: string }).id;
}

/** A worker of the test process's own, handed messages by the test rather than by a consumer. */
export async function workerOn(
  store: DeliveryStore,
  attempter: Attempter,
  extra: Partial<WorkerDeps> = {},
): Promise<DeliveryWorker> {
  return new DeliveryWorker({
    store,
    layout: createLayout(),
    attempter,
    // The instance's generated signing secret is sealed under HOOKD_KEY.
    secrets: new DeliverySecrets(await SecretBox.fromKeys(TEST_KEY)),
    clock: Date.now,
    random: Math.random,
    log: createLogger("silent"),
    leaseMs: 30_000,
    workerId: "review",
    ...extra,
  });
}
