// deno-lint-ignore-file no-explicit-any -- tests read hookd's JSON answers field by field
import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { hookdTopicFor } from "../src/domain/websub.ts";
import { api, eventually } from "./support/hookd.ts";
import { hookdSuite } from "./support/suite.ts";

// The suite's receiver serves the topic's content, as a WebSub publisher's feed would.
const FEED = '<?xml version="1.0"?><feed><entry>hello</entry></feed>';
const suite = hookdSuite({
  respond: () => ({ status: 200, headers: { "content-type": "application/atom+xml; charset=utf-8" }, body: FEED }),
});

/** A WebSub subscriber: echoes the challenge on GET (or a wrong one), records content POSTs. */
async function subscriber(echo: "challenge" | "wrong" = "challenge") {
  return suite.startReceiver((request) => {
    if (request.method !== "GET") return { status: 200 };
    const challenge = new URL(request.path, "http://x").searchParams.get("hub.challenge") ?? "";
    return { status: 200, body: echo === "challenge" ? challenge : `${challenge}-not` };
  });
}

const hub = (params: Record<string, string>) =>
  api(suite.hookd.url, "/hub", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(params).toString(),
  });

async function subscriptionFor(topic: string) {
  const page =
    await (await api(suite.hookd.url, `/api/v1/subscriptions?topic=${encodeURIComponent(hookdTopicFor(topic))}`))
      .json();
  return page.data[0] as Record<string, any> | undefined;
}

describe("WebSub hub", () => {
  it("subscribes after verification of intent, distributes signed content, renews, unsubscribes", async () => {
    const sub = await subscriber();
    const topic = `${suite.receiver.url}/feed`;
    const callback = `${sub.url}/cb?id=7`;
    const accepted = await hub({
      "hub.mode": "subscribe",
      "hub.callback": callback,
      "hub.topic": topic,
      "hub.lease_seconds": "3600",
      "hub.secret": "s3cret",
      "hub.unknown": "ignored",
    });
    expect(accepted.status).toBe(202);
    const verification = (await sub.waitFor(1))[0]!;
    const query = new URL(verification.path, "http://x").searchParams;
    expect(verification.method).toBe("GET");
    expect(verification.path.startsWith("/cb?id=7&hub.mode=subscribe")).toBe(true);
    expect(query.get("hub.topic")).toBe(topic);
    expect(query.get("hub.lease_seconds")).toBe("3600");
    const active = await eventually(
      async () => ((await subscriptionFor(topic))?.state === "active" ? subscriptionFor(topic) : undefined),
      10_000,
      "the subscription",
    );
    const firstLease = Date.parse(active!.lease_expires_at);

    const published = await hub({ "hub.mode": "publish", "hub.url": topic });
    expect(published.status).toBe(202);
    const content = (await sub.waitFor(2))[1]!;
    expect(content.method).toBe("POST");
    expect(content.body.toString()).toBe(FEED);
    expect(content.headers["content-type"]).toBe("application/atom+xml; charset=utf-8");
    expect(content.headers["x-hub-signature"]).toBe(
      "sha256=" + createHmac("sha256", "s3cret").update(FEED).digest("hex"),
    );
    expect(content.headers.link).toBe(`<${suite.hookd.url}/hub>; rel="hub", <${topic}>; rel="self"`);

    // Subscribing again renews the same subscription.
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(
      (await hub({
        "hub.mode": "subscribe",
        "hub.callback": callback,
        "hub.topic": topic,
        "hub.lease_seconds": "7200",
        "hub.verify": "sync",
      })).status,
    ).toBe(204);
    const renewed = await subscriptionFor(topic);
    expect(renewed!.id).toBe(active!.id);
    expect(Date.parse(renewed!.lease_expires_at)).toBeGreaterThan(firstLease);

    expect(
      (await hub({ "hub.mode": "unsubscribe", "hub.callback": callback, "hub.topic": topic, "hub.verify": "sync" }))
        .status,
    ).toBe(204);
    expect((await (await api(suite.hookd.url, `/api/v1/subscriptions/${active!.id}`)).json()).state).toBe(
      "unsubscribed",
    );
    const before = sub.requests.length;
    await hub({ "hub.mode": "publish", "hub.url": topic });
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(sub.requests.filter((r) => r.method === "POST").length).toBe(1);
    expect(sub.requests.length).toBe(before);
  });

  it("a callback that echoes a wrong challenge is not subscribed (sync: 409)", async () => {
    const sub = await subscriber("wrong");
    const topic = `${suite.receiver.url}/other`;
    const response = await hub({
      "hub.mode": "subscribe",
      "hub.callback": sub.url,
      "hub.topic": topic,
      "hub.verify": "sync",
    });
    expect(response.status).toBe(409);
    expect((await response.json()).detail).toMatch(/did not echo the challenge/);
    expect(await subscriptionFor(topic)).toBeUndefined();
  });

  it("a lease ends in expired, and no more content is sent", async () => {
    const sub = await subscriber();
    const topic = `${suite.receiver.url}/short`;
    expect(
      (await hub({
        "hub.mode": "subscribe",
        "hub.callback": sub.url,
        "hub.topic": topic,
        "hub.lease_seconds": "1",
        "hub.verify": "sync",
      })).status,
    ).toBe(204);
    await eventually(async () => (await subscriptionFor(topic))?.state === "expired", 15_000, "the lease to expire");
    await hub({ "hub.mode": "publish", "hub.topic": topic });
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(sub.requests.filter((r) => r.method === "POST")).toHaveLength(0);
  });

  it("refuses bad requests with a 4xx naming the parameter", async () => {
    const sub = await subscriber();
    const cases: [Record<string, string>, number, RegExp][] = [
      [{ "hub.callback": sub.url, "hub.topic": "https://x/" }, 400, /hub.mode/],
      [{ "hub.mode": "subscribe", "hub.topic": "https://x/" }, 400, /hub.callback/],
      [{ "hub.mode": "subscribe", "hub.callback": sub.url, "hub.topic": "not a url" }, 400, /hub.topic/],
      [
        { "hub.mode": "subscribe", "hub.callback": "http://10.1.1.1/", "hub.topic": "https://x/" },
        422,
        /HOOKD_ALLOWED_NETWORKS/,
      ],
      [
        { "hub.mode": "subscribe", "hub.callback": sub.url, "hub.topic": "https://x/", "hub.lease_seconds": "soon" },
        400,
        /hub.lease_seconds/,
      ],
      [
        { "hub.mode": "subscribe", "hub.callback": sub.url, "hub.topic": "https://x/", "hub.secret": "x".repeat(200) },
        400,
        /hub.secret/,
      ],
      [{ "hub.mode": "publish" }, 400, /hub.topic is required/],
    ];
    for (const [params, status, detail] of cases) {
      const response = await hub(params);
      expect(response.status, JSON.stringify(params)).toBe(status);
      expect((await response.json()).detail, JSON.stringify(params)).toMatch(detail);
    }
    const json = await api(suite.hookd.url, "/hub", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(json.status).toBe(400);
  });
});
