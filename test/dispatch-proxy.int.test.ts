import { TrieRouter } from "hono/router/trie-router";
import { describe, expect, it } from "vitest";
import { isProxyPath } from "../src/domain/proxy-target.ts";
import { PROXY_ROUTE_PATH } from "../src/http/proxy-routes.ts";
import { adminToken, api, deliveryOf, tokenFor, waitForState } from "./support/hookd.ts";
import { rawRequestText, sendThenDestroy } from "./support/raw-http.ts";
import { hookdSuite } from "./support/suite.ts";

/**
 * Hookah's proxy form, `POST /<host>/<path>?<query>`, against a real receiver on 127.0.0.1: what
 * arrives (method, path, query, body, which headers), the answer, auth, idempotency, the SSRF
 * guard, and that no route hookd has is ever captured by it.
 */

const suite = hookdSuite();
const host = () => `127.0.0.1:${suite.receiver.port}`;

async function proxied(path: string, init: RequestInit) {
  const before = suite.receiver.requests.length;
  const response = await api(suite.hookd.url, path, { method: "POST", ...init });
  expect(response.status, await response.clone().text()).toBe(202);
  const { id } = await response.json();
  expect(id).toMatch(/^dlv_/);
  expect(response.headers.get("location")).toBe(`/api/v1/deliveries/${id}`);
  await suite.receiver.waitFor(before + 1);
  return { id, request: suite.receiver.requests[before]! };
}

describe("the proxy form", () => {
  it("delivers POST /<host>/<path>?<query> there, with its body, content type and end-to-end headers only", async () => {
    const { id, request } = await proxied(`/${host()}/user/callback/endpoint?x=1&y=a%20b`, {
      headers: {
        "content-type": "application/json",
        "x-tenant": "acme",
        "accept": "application/json",
        "cookie": "hookd-session=1",
        "idempotency-key": "proxy-headers-1",
        "hookd-event-type": "user.created",
        "x-forwarded-for": "203.0.113.9",
        "user-agent": "curl/8.0",
      },
      body: '{"event":"user.created","id":42}',
    });
    expect(request.method).toBe("POST");
    expect(request.path).toBe("/user/callback/endpoint?x=1&y=a%20b");
    expect(request.body.toString()).toBe('{"event":"user.created","id":42}');
    expect(request.headers["content-type"]).toBe("application/json");
    expect(request.headers["x-tenant"]).toBe("acme");
    expect(request.headers["accept"]).toBe("application/json");
    for (const gone of ["authorization", "cookie", "idempotency-key", "hookd-event-type", "x-forwarded-for"]) {
      expect(request.headers[gone], gone).toBeUndefined();
    }
    expect(request.headers["user-agent"]).toBe("hookd/0.1");
    // Signed like every dispatch: the webhook-id is the delivery's id.
    expect(request.headers["webhook-id"]).toBe(id);
    expect(request.headers["webhook-signature"]).toMatch(/^v1,/);
    const view = await waitForState(suite.hookd.url, id, "delivered");
    expect(view.target).toBe(`http://${host()}/user/callback/endpoint?x=1&y=a%20b`);
  });

  it("keeps the method: PUT, PATCH and DELETE; GET and HEAD are refused with 405 and Allow", async () => {
    for (const method of ["PUT", "PATCH", "DELETE"]) {
      const { request } = await proxied(`/${host()}/m`, {
        method,
        headers: { "content-type": "text/plain" },
        body: method,
      });
      expect(request.method).toBe(method);
      expect(request.body.toString()).toBe(method);
    }
    for (const method of ["GET", "HEAD"]) {
      const response = await api(suite.hookd.url, `/${host()}/m`, { method });
      expect(response.status, method).toBe(405);
      expect(response.headers.get("allow")).toBe("DELETE, PATCH, POST, PUT");
    }
  });

  it("forwards the receiver's own ?token= and an empty path", async () => {
    const { request } = await proxied(`/${host()}?token=receivers-own`, { body: "t" });
    expect(request.path).toBe("/?token=receivers-own");
  });

  it("names https by port 443", async () => {
    const response = await api(suite.hookd.url, "/127.0.0.1:443/secure?a=1", { method: "POST", body: "s" });
    expect(response.status).toBe(202);
    const { id } = await response.json();
    expect((await deliveryOf(suite.hookd.url, id)).target).toBe("https://127.0.0.1/secure?a=1");
    await api(suite.hookd.url, `/api/v1/deliveries/${id}/cancel`, { method: "POST" });
  });

  it("takes a token for / or for the path (or a /-ending prefix of it), and nothing else", async () => {
    const path = `/${host()}/scoped/hook`;
    const post = (token?: string) =>
      fetch(suite.hookd.url + path, {
        method: "POST",
        body: "a",
        headers: token ? { authorization: `Bearer ${token}` } : {},
      });
    expect((await post()).status).toBe(401);
    expect((await post(await tokenFor("/dispatch"))).status).toBe(401);
    expect((await post(await tokenFor("/other.example/"))).status).toBe(401);
    expect((await post(await tokenFor(`/${host()}/scoped/other`))).status).toBe(401);
    for (const scope of ["/", `/${host()}/`, `/${host()}/scoped/`, path]) {
      expect((await post(await tokenFor(scope))).status, scope).toBe(202);
    }
  });

  it("takes a report URL only where the token may send: _callback and _errback need its grant too", async () => {
    const scoped = await tokenFor(`/${host()}/scoped/`);
    const post = (path: string, token: string) =>
      fetch(suite.hookd.url + path, { method: "POST", body: "r", headers: { authorization: `Bearer ${token}` } });
    const report = (parameter: string, url: string) => `/${host()}/scoped/hook?${parameter}=${encodeURIComponent(url)}`;
    // The token cannot send to /elsewhere itself, so it cannot have a report sent there either.
    for (const parameter of ["_callback", "_errback"]) {
      const refused = await post(report(parameter, `http://${host()}/elsewhere`), scoped);
      expect(refused.status, parameter).toBe(401);
      expect((await refused.json()).detail).toContain(`/${host()}/elsewhere`);
    }
    // An https report URL is named as the form names it: by port 443.
    expect((await post(report("_callback", "https://127.0.0.1/r"), scoped)).status).toBe(401);
    expect((await post(report("_callback", `http://${host()}/scoped/report`), scoped)).status).toBe(202);
    // What is no http(s) URL is the route's 400, whatever the token.
    expect((await post(report("_errback", "ftp://127.0.0.1/r"), scoped)).status).toBe(400);
    expect((await post(report("_callback", `http://${host()}/elsewhere`), await adminToken())).status).toBe(202);
    // /dispatch/<target>: a token for that one target names no other report URL; one for /dispatch/ any.
    const target = `/dispatch/${Buffer.from(`http://${host()}/scoped/b64`).toString("base64url")}`;
    const elsewhere = `?_callback=${encodeURIComponent(`http://${host()}/elsewhere`)}`;
    expect((await post(target + elsewhere, await tokenFor(target))).status).toBe(401);
    expect((await post(target, await tokenFor(target))).status).toBe(202);
    expect((await post(target + elsewhere, await tokenFor("/dispatch/"))).status).toBe(202);
  });

  it("replays an Idempotency-Key as /dispatch does, and refuses it for a different request", async () => {
    const path = `/${host()}/idem`;
    const send = (body: string) =>
      api(suite.hookd.url, path, { method: "POST", body, headers: { "idempotency-key": "proxy-idem-1" } });
    const first = await send("one");
    const again = await send("one");
    expect(first.status).toBe(202);
    expect(again.status).toBe(202);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    const { id } = await first.json();
    expect((await again.json()).id).toBe(id);
    const other = await send("two");
    expect(other.status).toBe(422);
    expect((await other.json()).conflicts).toEqual(["body"]);
    await waitForState(suite.hookd.url, id, "delivered");
    expect(suite.receiver.requests.filter((request) => request.path === "/idem")).toHaveLength(1);
  });

  it("takes a raw HTTP/1.1 request as curl sends it", async () => {
    const before = suite.receiver.requests.length;
    const body = "a=1&b=2";
    const text = rawRequestText({
      method: "POST",
      path: `/${host()}/raw/path?q=1`,
      headers: {
        host: "hookd.test",
        authorization: `Bearer ${await adminToken()}`,
        "content-type": "application/x-www-form-urlencoded",
        "content-length": String(body.length),
        // fetch cannot send Connection; a header it names is hop-by-hop and stays behind.
        connection: "close, x-hop",
        "x-hop": "1",
      },
    }) + body;
    const answer = await sendThenDestroy(suite.hookd.url, text, 10_000);
    expect(answer).toMatch(/^HTTP\/1\.1 202 /);
    expect(answer).toMatch(/location: \/api\/v1\/deliveries\/dlv_/i);
    const [request] = (await suite.receiver.waitFor(before + 1)).slice(before);
    expect(request!.path).toBe("/raw/path?q=1");
    expect(request!.body.toString()).toBe(body);
    expect(request!.headers["content-type"]).toBe("application/x-www-form-urlencoded");
    expect(request!.headers.host).toBe(host());
    expect(request!.headers["x-hop"]).toBeUndefined();
  });

  it("refuses a body labelled JSON that is not, as /dispatch does", async () => {
    const response = await api(suite.hookd.url, `/${host()}/bad`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{nope",
    });
    expect(response.status).toBe(400);
    expect(response.headers.get("content-type")).toMatch(/problem\+json/);
  });

  it("captures no route hookd has: every route in the route table and the OpenAPI document is left alone", async () => {
    const app = suite.hookd.hookd.app;
    const router = new TrieRouter<string>();
    for (const route of app.routes) if (route.method !== "ALL") router.add("ALL", route.path, route.path);
    const routes = app.routes.filter((route) => route.method !== "ALL" && route.path !== PROXY_ROUTE_PATH);
    const document = await (await fetch(`${suite.hookd.url}/api/v1/openapi.json`)).json();
    const documented = Object.keys(document.paths).filter((path) => path !== "/{host}/{path}");
    // Each as a concrete path: a parameter as a value, a wildcard as a topic with dots in it, which is the hardest case.
    const concrete = [
      ...routes.map((route) => route.path.replace(/:[^/]+/g, "x1").replace(/\*$/, "github.com/org/repo")),
      ...documented.map((path) => path.replace(/\{[^}]+\}/g, "example.com")),
    ];
    expect(routes.length).toBeGreaterThan(30);
    expect(documented.length).toBeGreaterThan(25);
    const captured = concrete.filter((path) =>
      isProxyPath(path) || router.match("POST", path)[0].some(([matched]) => matched === PROXY_ROUTE_PATH)
    );
    expect(captured).toEqual([]);
    // And through the app: /dispatch/<anything> still reaches /dispatch's own route, not a delivery to "dispatch".
    const notHost = await api(suite.hookd.url, "/dispatchx/example.com", { method: "POST", body: "x" });
    expect(notHost.status).toBe(404);
  });
});

describe("the proxy form and the SSRF guard", () => {
  // Allows no private network at all, as in production.
  const strict = hookdSuite({ env: { HOOKD_ALLOWED_NETWORKS: "" }, receiver: false });

  it("refuses literal private, loopback and link-local hosts at ingest with 422", async () => {
    for (const target of ["127.0.0.1:9/x", "[::1]:9/x", "10.0.0.8/x", "169.254.169.254/latest", "0.0.0.0:9/"]) {
      const response = await api(strict.hookd.url, `/${target}`, { method: "POST", body: "x" });
      expect(response.status, target).toBe(422);
      expect((await response.json()).type).toBe("urn:hookd:problem:forbidden-target");
    }
  });
});
