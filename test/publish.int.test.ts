// deno-lint-ignore-file no-explicit-any -- tests read hookd's JSON answers field by field
import { jetstreamManager } from "@nats-io/jetstream";
import { describe, expect, it } from "vitest";
import { api, tokenFor } from "./support/hookd.ts";
import { hookdSuite } from "./support/suite.ts";
import { createLayout } from "../src/nats/layout.ts";

const layout = createLayout();

const suite = hookdSuite({ env: { HOOKD_MAX_BODY: "16KiB" }, connect: true });

async function stored(seq: number) {
  const message = await (await jetstreamManager(suite.nc)).direct.getMessage(layout.streams.topics, { seq });
  if (!message) throw new Error(`no message at ${seq}`);
  return {
    subject: message.subject,
    body: Buffer.from(message.data),
    header: (name: string) => message.header?.get(name) ?? "",
  };
}

async function publish(path: string, init: RequestInit = {}) {
  const response = await api(suite.hookd.url, path, { method: "POST", ...init });
  return { response, json: (await response.json()) as Record<string, any> };
}

describe("publishing to topics", () => {
  it("POST /pub/<topic> stores the event once, as sent, and answers with its id and sequence", async () => {
    const { response, json } = await publish("/pub/github.com/org/repo", {
      headers: { "content-type": "application/json", "hookd-event-type": "push" },
      body: '{"ref":"refs/heads/main"}',
    });
    expect(response.status).toBe(202);
    expect(json.id).toMatch(/^evt_[0-9A-Z]{26}$/);
    expect(json.seq).toBeGreaterThan(0);
    expect(json.topic).toBe("github.com/org/repo");
    const message = await stored(json.seq);
    expect(message.subject).toBe("hookd.topic.s.github_2Ecom.org.repo");
    expect(message.body.toString()).toBe('{"ref":"refs/heads/main"}');
    expect(message.header("Content-Type")).toBe("application/json");
    expect(message.header("Hookd-Event-Type")).toBe("push");
    expect(message.header("Hookd-Event-Id")).toBe(json.id);
  });

  it("keeps binary bodies byte for byte and takes the type from ?type=", async () => {
    const bytes = Buffer.from([0, 255, 10, 13, 0]);
    const { json } = await publish("/pub/bin?type=blob.created", {
      headers: { "content-type": "application/octet-stream" },
      body: bytes,
    });
    const message = await stored(json.seq);
    expect(Buffer.compare(message.body, bytes)).toBe(0);
    expect(message.header("Hookd-Event-Type")).toBe("blob.created");
  });

  it("an Idempotency-Key stores the event once", async () => {
    const headers = { "idempotency-key": "publish-once-1" };
    const first = await publish("/pub/orders", { headers, body: "a" });
    const second = await publish("/pub/orders", { headers, body: "a" });
    expect(second.json).toEqual(first.json);
    expect(second.response.headers.get("idempotent-replayed")).toBe("true");
    const other = await publish("/pub/orders", { headers: { "idempotency-key": "publish-once-2" }, body: "a" });
    expect(other.json.seq).toBeGreaterThan(first.json.seq);
  });

  it("the same Idempotency-Key with a different event is a 422 naming what differs, and stores nothing", async () => {
    const key = { "idempotency-key": "publish-conflict-1" };
    const first = await publish("/pub/conflicts", {
      headers: { ...key, "content-type": "text/plain", "hookd-event-type": "note.added" },
      body: "first",
    });
    expect(first.response.status).toBe(202);
    const info = async () => (await jetstreamManager(suite.nc)).streams.info(layout.streams.topics);
    const lastSeq = (await info()).state.last_seq;

    const body = await publish("/pub/conflicts", {
      headers: { ...key, "content-type": "text/plain", "hookd-event-type": "note.added" },
      body: "second",
    });
    expect(body.response.status).toBe(422);
    expect(body.response.headers.get("content-type")).toBe("application/problem+json");
    expect(body.json).toMatchObject({
      type: "urn:hookd:problem:idempotency-key-reused",
      field: "Idempotency-Key",
      conflicts: ["body"],
      detail: expect.stringMatching(/publish-conflict-1.*different body/),
    });
    // Not application/json: "first" is no JSON, and a body its content type contradicts is a 400 before any key check.
    const typeAndContentType = await publish("/pub/conflicts", {
      headers: { ...key, "content-type": "text/markdown", "hookd-event-type": "note.removed" },
      body: "first",
    });
    expect(typeAndContentType.json.conflicts).toEqual(["content_type", "type"]);
    expect((await info()).state.last_seq).toBe(lastSeq);

    // The same event again still answers the first one.
    const again = await publish("/pub/conflicts", {
      headers: { ...key, "content-type": "text/plain", "hookd-event-type": "note.added" },
      body: "first",
    });
    expect(again.response.status).toBe(202);
    expect(again.json).toEqual(first.json);
  });

  it("POST /dispatch with _topic publishes (query, form field, or JSON field) and strips the field", async () => {
    const query = await publish("/dispatch?_topic=hookah/q", {
      headers: { "content-type": "text/plain" },
      body: "plain",
    });
    expect(query.response.status).toBe(202);
    expect((await stored(query.json.seq)).subject).toBe("hookd.topic.s.hookah.q");

    const form = await publish("/dispatch", {
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "_topic=hookah%2Fform&a=1",
    });
    const formMessage = await stored(form.json.seq);
    expect(formMessage.subject).toBe("hookd.topic.s.hookah.form");
    expect(formMessage.body.toString()).toBe("a=1");

    const json = await publish("/dispatch", {
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ _topic: "hookah/json", n: 1 }),
    });
    const jsonMessage = await stored(json.json.seq);
    expect(jsonMessage.subject).toBe("hookd.topic.s.hookah.json");
    expect(JSON.parse(jsonMessage.body.toString())).toEqual({ n: 1 });
  });

  it("refuses _wait, _callback and _errback on a publish, in /pub's query and in /dispatch's body", async () => {
    for (const path of ["/pub/controls/q?_callback=http://127.0.0.1:1/r", "/unsafe/pub/controls/q?_wait=5"]) {
      const headers: Record<string, string> = { "content-type": "text/plain" };
      if (path.startsWith("/unsafe/")) headers["x-hookbot-unsafe-is-ok"] = "I understand the security implications";
      const response = await publish(path, { headers, body: "z" });
      expect(response.response.status, path).toBe(400);
      expect(response.json.field, path).toBe(path.includes("_wait") ? "_wait" : "_callback");
    }
    const form = await publish("/dispatch", {
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "_topic=controls%2Fform&_errback=http%3A%2F%2F127.0.0.1%3A1%2Fr&a=1",
    });
    expect(form.response.status).toBe(400);
    expect(form.json.field).toBe("_errback");
  });

  it("refuses bad topics and event types with a 400 naming the field", async () => {
    const cases: [string, RegExp][] = [
      ["/pub/a//b", /empty segment/],
      ["/pub/foo/", /can't end in "\/"/],
      ["/pub/%E0%A4%A", /percent-encoding/],
      ["/dispatch?_topic=%2Fabs", /"_topic" is not a valid topic/],
      ["/pub/ok?type=bad%20type", /event type/],
      ["/pub/ok?type=hookd.disconnect", /reserved for hookd's own stream events/],
      ["/pub/a/..%2Fb", /"\." or "\.\." segment/],
    ];
    for (const [path, detail] of cases) {
      const { response, json } = await publish(path, { body: "x" });
      expect(response.status, path).toBe(400);
      expect(response.headers.get("content-type")).toBe("application/problem+json");
      expect(json.detail, path).toMatch(detail);
    }
    const missing = await publish("/dispatch", { body: "x" });
    expect(missing.json.detail).toMatch(/_url" is required.*or _topic/);
  });

  it("refuses bodies over HOOKD_MAX_BODY with 413", async () => {
    const { response } = await publish("/pub/big", { body: "x".repeat(20_000) });
    expect(response.status).toBe(413);
  });

  it("a token for /pub/<prefix>/ grants the topics below it and nothing else", async () => {
    const token = await tokenFor("/pub/github.com/");
    const headers = { authorization: `Bearer ${token}` };
    expect((await fetch(`${suite.hookd.url}/pub/github.com/org/repo`, { method: "POST", headers, body: "x" })).status)
      .toBe(202);
    expect((await fetch(`${suite.hookd.url}/pub/gitlab.com/org/repo`, { method: "POST", headers, body: "x" })).status)
      .toBe(401);
    expect((await fetch(`${suite.hookd.url}/pub/github.com/org/repo`, { method: "POST", body: "x" })).status).toBe(401);
  });
});
