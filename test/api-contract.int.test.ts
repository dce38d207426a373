// deno-lint-ignore-file no-explicit-any -- tests read hookd's JSON answers field by field
import { describe, expect, it } from "vitest";
import { adminToken, api, eventually, waitForListed, waitForState } from "./support/hookd.ts";
import { nonSnakeKeys } from "./support/json-names.ts";
import { hookdSuite } from "./support/suite.ts";

/**
 * The JSON API's contract as a client sees it across every resource: one naming style, unknown
 * query parameters refused, wrong methods answered 405.
 */

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
    answers.list = await waitForListed(suite.hookd.url, "limit=5", [created.body.id]);
    answers.counts = (await json("/api/v1/deliveries/counts")).body;

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

/**
 * Every route of the suite's app, once, from Hono's own table (a route with a validator is two
 * entries; middleware, registered for every method, is left out).
 */
function appRoutes(): { method: string; path: string }[] {
  // The console's pages sign in with a cookie, not the API's token: without one they send to the sign-in
  // page (401 for anything but a page GET), as the API answers 401 without a token (test/console-auth.int.test.ts).
  const routes = suite.hookd.hookd.app.routes.filter((route) =>
    route.method !== "ALL" && !route.path.startsWith("/console")
  );
  const unique = new Map(routes.map(({ method, path }) => [`${method} ${path}`, { method, path }]));
  return [...unique.values()];
}

/** A path that matches a route pattern: each parameter and wildcard filled in. */
// A parameter with a pattern (the proxy form's host) gets a value it takes: a host name.
const concrete = (pattern: string) =>
  pattern.replace(/:[A-Za-z]+\{[^}]*\}/g, "host.example").replace(/:[A-Za-z]+/g, "x1").replace(/\*$/, "x/y");

describe("unknown query parameters on the JSON API are a 400 that names them", () => {
  it("GET /api/v1/subscriptions?subscription_id= is refused instead of listing everything", async () => {
    const { status, body } = await json("/api/v1/subscriptions?subscription_id=sub_01ARZ3NDEKTSV4RRFFQ69G5FAV");
    expect(status).toBe(400);
    expect(body.errors).toEqual([{ field: "subscription_id", message: expect.stringMatching(/unknown/) }]);
    expect(body.detail).toBe(
      '"subscription_id" is not a query parameter of GET /api/v1/subscriptions; it takes topic, owner, state, limit, cursor.',
    );
  });

  it("on every /api/v1 route, walked from the app's route table", async () => {
    const routes = appRoutes().filter((route) => route.path.startsWith("/api/v1/"));
    expect(routes.length).toBeGreaterThanOrEqual(20);
    for (const route of routes) {
      const response = await api(suite.hookd.url, `${concrete(route.path)}?bogus_param=1&limit=5`, {
        method: route.method,
      });
      const what = `${route.method} ${route.path}`;
      expect(response.status, what).toBe(400);
      const problem = await response.json();
      expect(problem.errors.map((error: { field: string }) => error.field), what).toContain("bogus_param");
    }
  });

  it("the parameters a route names still work, ?token= is a 400 off the stream routes, and Hookah's _url is untouched", async () => {
    expect((await json("/api/v1/subscriptions?limit=5&topic=names/orders")).status).toBe(200);
    const response = await fetch(`${suite.hookd.url}/api/v1/deliveries?limit=1&token=${await adminToken()}`);
    expect(response.status).toBe(400);
    expect((await response.json()).field).toBe("token");
    const dispatched = await api(suite.hookd.url, `/dispatch?_url=${encodeURIComponent(suite.receiver.url)}&extra=1`, {
      method: "POST",
      body: "hookah keeps its own parameters",
    });
    expect(dispatched.status).toBe(202);
  });
});

describe("a known route with a wrong method is 405 with Allow, on every route", () => {
  it("walked from the app's route table", async () => {
    const byPath = new Map<string, Set<string>>();
    for (const route of appRoutes()) byPath.set(route.path, (byPath.get(route.path) ?? new Set()).add(route.method));
    for (const [path, methods] of byPath) {
      const wrong = ["DELETE", "PUT", "PATCH", "POST", "GET"].find((method) => !methods.has(method))!;
      const response = await api(suite.hookd.url, concrete(path), {
        method: wrong,
        headers: { "x-hookbot-unsafe-is-ok": "I understand the security implications" },
      });
      const what = `${wrong} ${path}`;
      expect(response.status, what).toBe(405);
      expect(response.headers.get("content-type"), what).toBe("application/problem+json");
      const allow = (response.headers.get("allow") ?? "").split(", ");
      for (const method of methods) expect(allow, what).toContain(method);
      expect(allow, what).not.toContain(wrong);
      if (methods.has("GET")) expect(allow, what).toContain("HEAD");
    }
  });

  it("names the methods in the problem too; a path that is no route stays a 404", async () => {
    const response = await api(suite.hookd.url, "/api/v1/deliveries", { method: "DELETE" });
    expect(response.headers.get("allow")).toBe("GET, HEAD, POST");
    expect(await response.json()).toMatchObject({
      type: "urn:hookd:problem:method-not-allowed",
      status: 405,
      allowed: ["GET", "HEAD", "POST"],
      detail: "/api/v1/deliveries takes GET, HEAD, POST, not DELETE.",
    });
    expect((await api(suite.hookd.url, "/api/v1/nothing-here")).status).toBe(404);
    expect((await api(suite.hookd.url, "/api/v1/deliveries/x1/nothing")).status).toBe(404);
  });
});
