import { expect } from "vitest";
import { adminToken, api, waitForState } from "./hookd.ts";
import type { Receiver } from "./receiver.ts";
import { openSse } from "./stream-clients.ts";

/**
 * hookd's basic operations against one running hookd, each checked as a user sees it: a dispatch is
 * delivered (waited for inline, and reported to its callback), a subscription gets what is published
 * to its topic (fan-out), and an SSE stream gets it live. Tests that change how hookd reaches NATS run these to show that everything works through it.
 */
export async function runBasicOperations(base: string, receiver: Receiver, topic = "ops/orders"): Promise<void> {
  const before = receiver.requests.length;
  const target = encodeURIComponent(`${receiver.url}/dispatched`);
  const callback = encodeURIComponent(`${receiver.url}/reported`);
  const dispatched = await api(base, `/dispatch?_url=${target}&_callback=${callback}`, {
    method: "POST",
    // Inline mode follows the delivery's journal through a consumer of its own.
    headers: { "content-type": "application/json", prefer: "wait=5" },
    body: '{"dispatched":true}',
  });
  expect(dispatched.status).toBe(200);
  expect(dispatched.headers.get("hookd-delivery-state")).toBe("delivered");
  await waitForState(base, dispatched.headers.get("hookd-delivery-id")!, "delivered");

  const subscribed = await api(base, "/api/v1/subscriptions", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ topic, url: `${receiver.url}/fanned-out` }),
  });
  expect(subscribed.status).toBe(201);
  // Re-sealing after a key rotation reads every subscription's journal and purges its older entries.
  expect((await api(base, "/api/v1/secrets/reseal", { method: "POST" })).status).toBe(200);

  const sse = openSse(`${base}/sse/${topic}`, await adminToken());
  try {
    await sse.opened;
    const published = await api(base, `/pub/${topic}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"published":true}',
    });
    expect(published.status).toBe(202);
    const [event] = await sse.waitFor(1);
    expect(event!.data).toContain("published");
  } finally {
    sse.close();
  }
  await receiver.waitFor(before + 3);
  const paths = receiver.requests.slice(before).map((request) => request.path).sort();
  expect(paths).toEqual(["/dispatched", "/fanned-out", "/reported"]);
}
