import { describe, expect, it } from "vitest";
import { hookdSuite } from "./support/suite.ts";
import { api, waitForState } from "./support/hookd.ts";

const suite = hookdSuite();

async function dispatch(path: string, init: RequestInit) {
  const before = suite.receiver.requests.length;
  const response = await api(suite.hookd.url, path, { method: "POST", ...init });
  expect(response.status).toBe(202);
  const { id } = await response.json();
  expect(id).toMatch(/^dlv_/);
  expect(response.headers.get("location")).toBe(`/api/v1/deliveries/${id}`);
  await suite.receiver.waitFor(before + 1);
  return { id, request: suite.receiver.requests[before]! };
}

describe("Hookah-compatible /dispatch", () => {
  it("takes _url from the query and forwards a form without it", async () => {
    const { request } = await dispatch(`/dispatch?_url=${encodeURIComponent(suite.receiver.url + "/form")}`, {
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "a=1&_topic=x&b=two+words",
    });
    expect(request.path).toBe("/form");
    expect(request.method).toBe("POST");
    expect(request.headers["content-type"]).toBe("application/x-www-form-urlencoded");
    expect(request.body.toString()).toBe("a=1&b=two+words");
  });

  it("takes _url from a form body and strips it", async () => {
    const { request } = await dispatch("/dispatch", {
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `_url=${encodeURIComponent(suite.receiver.url + "/in-body")}&event=push`,
    });
    expect(request.path).toBe("/in-body");
    expect(request.body.toString()).toBe("event=push");
  });

  it("forwards multipart forms, files included, without _url", async () => {
    const form = new FormData();
    form.set("_url", `${suite.receiver.url}/multi`);
    form.set("name", "hookd");
    form.set("file", new Blob([new Uint8Array([1, 2, 3])], { type: "application/octet-stream" }), "data.bin");
    const { request } = await dispatch("/dispatch", { body: form });
    expect(request.path).toBe("/multi");
    const parsed = await new Response(new Uint8Array(request.body), {
      headers: { "content-type": String(request.headers["content-type"]) },
    }).formData();
    expect(parsed.get("_url")).toBeNull();
    expect(parsed.get("name")).toBe("hookd");
    const file = parsed.get("file") as File;
    expect(file.name).toBe("data.bin");
    expect([...new Uint8Array(await file.arrayBuffer())]).toEqual([1, 2, 3]);
  });

  it("takes _url from a JSON body and strips it", async () => {
    const { request } = await dispatch("/dispatch", {
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ _url: `${suite.receiver.url}/json`, action: "opened", n: 1 }),
    });
    expect(request.path).toBe("/json");
    expect(JSON.parse(request.body.toString())).toEqual({ action: "opened", n: 1 });
  });

  it("forwards a raw body byte for byte when _url is in the query", async () => {
    const raw = Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0x0a]);
    const { request } = await dispatch(`/dispatch?_url=${encodeURIComponent(suite.receiver.url + "/raw")}`, {
      headers: { "content-type": "application/x-custom" },
      body: raw,
    });
    expect(request.headers["content-type"]).toBe("application/x-custom");
    expect(Buffer.compare(request.body, raw)).toBe(0);
  });

  it("POST /dispatch/<base64url(target)> forwards the raw body and content type", async () => {
    const target = Buffer.from(`${suite.receiver.url}/b64?x=1`).toString("base64url");
    const { id, request } = await dispatch(`/dispatch/${target}`, {
      headers: { "content-type": "text/csv" },
      body: "a,b\n1,2\n",
    });
    expect(request.path).toBe("/b64?x=1");
    expect(request.headers["content-type"]).toBe("text/csv");
    expect(request.body.toString()).toBe("a,b\n1,2\n");
    await waitForState(suite.hookd.url, id, "delivered");
  });
});
