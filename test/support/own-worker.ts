import { expect } from "vitest";
import type { createHttpAttempter } from "../../src/delivery/http-attempt.ts";
import { DeliverySecrets } from "../../src/domain/delivery-secrets.ts";
import { SecretBox } from "../../src/domain/secret-box.ts";
import { createLogger } from "../../src/log.ts";
import type { DeliveryStore } from "../../src/nats/delivery-store.ts";
import { createLayout } from "../../src/nats/layout.ts";
import { DeliveryWorker, type WorkerDeps } from "../../src/runtime/delivery-worker.ts";
import { api, TEST_KEY } from "./hookd.ts";

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
  attempter: ReturnType<typeof createHttpAttempter>,
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
