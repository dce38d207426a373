// deno-lint-ignore-file no-explicit-any -- tests read hookd's JSON answers field by field
import { describe, expect, it } from "vitest";
import { api, eventually, waitForState } from "./support/hookd.ts";
import { nonSnakeKeys } from "./support/json-names.ts";
import { hookdSuite } from "./support/suite.ts";

/** The JSON API's contract as a client sees it across every resource: one naming style. */

const suite = hookdSuite();

async function json(path: string, init: RequestInit = {}): Promise<{ status: number; body: any }> {
  const response = await api(suite.hookd.url, path, init);
  return { status: response.status, body: await response.json() };
}

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  json(path, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });

describe("one naming style: every JSON answer names its fields in snake_case", () => {
  it("deliveries, subscriptions, attempts, publish answers, machines and problems", async () => {
    // Every other answer is a 503, so each delivery's history holds a failed attempt with its retry time.
    let calls = 0;
    suite.receiver.respond = () => (calls++ % 2 === 0 ? { status: 503, body: "busy" } : { status: 200, body: "ok" });
    const answers: Record<string, unknown> = {};
    const created = await post("/api/v1/deliveries", { url: `${suite.receiver.url}/d`, body: { a: 1 } });
    answers.create = created.body;
    answers.delivery = await waitForState(suite.hookd.url, created.body.id, "delivered");
    answers.list = (await json("/api/v1/deliveries?limit=5")).body;

    const subscription = await post("/api/v1/subscriptions", {
      topic: "names/orders",
      url: `${suite.receiver.url}/s`,
      metadata: { camelCaseIsTheUsersOwn: "yes" },
    });
    answers.subscription = subscription.body;
    answers.subscriptions = (await json("/api/v1/subscriptions")).body;
    answers.published = (await post("/pub/names/orders", { order: 1 })).body;
    answers.event = (await json(`/api/v1/events/${(answers.published as any).id}`)).body;
    answers.attempts = await eventually(async () => {
      const page = (await json(`/api/v1/subscriptions/${subscription.body.id}/attempts`)).body;
      return page.data.length >= 2 ? page : undefined;
    });
    answers.rotated = (await post(`/api/v1/subscriptions/${subscription.body.id}/rotate-secret`, {})).body;
    answers.replay = (await post(`/api/v1/subscriptions/${subscription.body.id}/replay`, { since: new Date(0) }))
      .body;
    answers.delivery_machine = (await json("/api/v1/machines/delivery")).body;
    answers.subscription_machine = (await json("/api/v1/machines/subscription")).body;
    answers.validation_problem = (await post("/api/v1/deliveries", { url: 7 })).body;
    answers.state_problem = (await json(`/api/v1/deliveries/${created.body.id}/retry`, { method: "POST" })).body;

    expect((answers.delivery as any).history.map((entry: any) => entry.type)).toContain("attempt.failed");
    expect((answers.attempts as any).data.map((attempt: any) => attempt.outcome)).toContain("failed");
    expect(nonSnakeKeys(answers)).toEqual([]);
  });
});
