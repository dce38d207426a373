import { Agent, request } from "undici";
import { sleep } from "./figures.ts";
import { receiverStats } from "./processes.ts";

/**
 * Fan-out as the benches measure it: `count` subscriptions made through hookd's API (16 at once),
 * then one event published to their topic, timed from the publish until the receiver has all of
 * them. Used by bench/fanout and by bench/dispatch, which sets the rate beside its plain drain's.
 */

export type FanOutTarget = { hookdUrl: string; admin: string; receiverUrl: string; topic: string };

async function post(agent: Agent, target: FanOutTarget, path: string, body: string) {
  const response = await request(`${target.hookdUrl}${path}`, {
    method: "POST",
    body,
    headers: { authorization: target.admin, "content-type": "application/json" },
    dispatcher: agent,
  });
  const text = await response.body.text();
  if (response.statusCode >= 300) throw new Error(`${path}: ${response.statusCode} ${text}`);
}

/** Adds `count` subscriptions to `target.topic`, each delivering to the receiver's /fan (`fields` added to each). */
export async function subscribeMany(
  target: FanOutTarget,
  count: number,
  fields: Record<string, unknown> = {},
): Promise<void> {
  const agent = new Agent({ connections: 16 });
  let next = 0;
  const body = JSON.stringify({ topic: target.topic, url: `${target.receiverUrl}/fan`, ...fields });
  try {
    await Promise.all(Array.from({ length: 16 }, async () => {
      // Counted before the await: counted after it, each of the 16 would start one more past `count`.
      while (next < count) {
        next++;
        await post(agent, target, "/api/v1/subscriptions", body);
      }
    }));
  } finally {
    await agent.close();
  }
}

/** Publishes one event to the topic and waits until `expected` deliveries arrived: seconds taken. */
export async function timeOneEvent(target: FanOutTarget, expected: number): Promise<number> {
  await fetch(`${target.receiverUrl}/__reset`, { method: "POST" });
  const agent = new Agent({ connections: 1 });
  const started = performance.now();
  try {
    await post(agent, target, `/pub/${target.topic}`, '{"fan":"out"}');
  } finally {
    await agent.close();
  }
  // A bench stops by itself: ten minutes is far past any fan-out it measures.
  for (
    const giveUpAt = Date.now() + 600_000;
    (await receiverStats(target.receiverUrl)).count < expected;
    await sleep(50)
  ) {
    if (Date.now() > giveUpAt) throw new Error(`fan-out to ${expected} did not finish within 10 minutes`);
  }
  return (performance.now() - started) / 1000;
}
