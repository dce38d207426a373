// deno-lint-ignore-file no-explicit-any -- tests read hookd's JSON answers field by field
import { jetstreamManager } from "@nats-io/jetstream";
import { describe, expect, it } from "vitest";
import { toBase64Url } from "../src/domain/bytes.ts";
import { createLayout } from "../src/nats/layout.ts";
import { api } from "./support/hookd.ts";
import { hookdSuite } from "./support/suite.ts";

/**
 * A body that is clearly not what its Content-Type says: JSON that does not parse is a 400 on every
 * route that takes a payload, and nothing is stored or delivered. A form can't be clearly wrong (any
 * bytes are a form), so JSON sent as one, curl -d's default, goes through as sent, with a warning.
 */

const suite = hookdSuite({ connect: true });
const layout = createLayout();
const UNSAFE = { "x-hookbot-unsafe-is-ok": "I understand the security implications" };
const WARNING = "hookd-warning";

const lastSeq = async () =>
  (await (await jetstreamManager(suite.nc)).streams.info(layout.streams.topics)).state.last_seq;

async function stored(seq: number) {
  const message = await (await jetstreamManager(suite.nc)).direct.getMessage(layout.streams.topics, { seq });
  if (!message) throw new Error(`no message at ${seq}`);
  return { body: Buffer.from(message.data).toString(), contentType: message.header?.get("Content-Type") };
}

/** Every route that takes a payload: Hookbot's publish (safe and unsafe), Hookah's dispatch, and its raw form. */
function routes(): { path: string; headers?: Record<string, string> }[] {
  const target = `${suite.receiver.url}/hook`;
  return [
    { path: "/pub/typed/topic" },
    { path: "/unsafe/pub/typed/topic", headers: UNSAFE },
    { path: "/dispatch?_topic=typed/topic" },
    { path: `/dispatch?_url=${encodeURIComponent(target)}` },
    { path: "/dispatch" },
    { path: `/dispatch/${toBase64Url(new TextEncoder().encode(target))}` },
  ];
}

const post = (path: string, contentType: string, body: BodyInit, headers: Record<string, string> = {}) =>
  api(suite.hookd.url, path, { method: "POST", headers: { ...headers, "content-type": contentType }, body });

describe("a body that is not what its Content-Type says", () => {
  it("JSON that does not parse is a 400 problem naming Content-Type, on every payload route, and nothing is kept", async () => {
    const before = { seq: await lastSeq(), received: suite.receiver.requests.length };
    const bodies: BodyInit[] = ['{"order":17', "order=17", new Uint8Array([0x22, 0xff, 0x22])];
    for (const { path, headers } of routes()) {
      for (
        const contentType of ["application/json", "application/json; charset=UTF-8", "application/cloudevents+json"]
      ) {
        for (const body of bodies) {
          const response = await post(path, contentType, body, headers);
          expect(response.status, `${path} ${contentType}`).toBe(400);
          expect(response.headers.get("content-type")).toBe("application/problem+json");
          const problem = (await response.json()) as any;
          expect(problem.detail).toMatch(/labelled application\/(cloudevents\+)?json \(Content-Type\) but is not JSON/);
          expect(problem.field).toBe("Content-Type");
        }
      }
    }
    // A good request afterwards is the next thing stored and the only thing delivered.
    expect((await post(routes()[0]!.path, "application/json", '{"order":18}')).status).toBe(202);
    expect(await lastSeq()).toBe(before.seq + 1);
    expect((await post(routes()[3]!.path, "application/json", '{"order":19}')).status).toBe(202);
    const [request, ...more] = (await suite.receiver.waitFor(before.received + 1)).slice(before.received);
    expect(request!.body.toString()).toBe('{"order":19}');
    expect(more).toEqual([]);
  });

  it("takes JSON as sent, and leaves alone empty bodies and types it can't check", async () => {
    const cases: [string, string][] = [
      ["application/json", ' {"order":17}\n'],
      ["application/json", ""],
      ["application/json; charset=utf-16", "\u0000{"],
      ["application/jsonl", '{"a":1}\n{"a":2}\n'],
      ["text/plain", "{not json"],
    ];
    for (const [contentType, body] of cases) {
      const response = await post("/pub/typed/ok", contentType, body);
      expect(response.status, `${contentType} ${JSON.stringify(body)}`).toBe(202);
      expect(response.headers.get(WARNING)).toBeNull();
      const { seq } = (await response.json()) as any;
      expect(await stored(seq)).toEqual({ body, contentType });
    }
  });

  it("JSON sent as a form (curl -d's default) is stored and delivered as sent, with a Hookd-Warning", async () => {
    const form = "application/x-www-form-urlencoded";
    const published = await post("/pub/typed/form", form, '{"order":17}');
    expect(published.status).toBe(202);
    expect(published.headers.get(WARNING)).toMatch(
      /JSON but labelled application\/x-www-form-urlencoded.*application\/json/,
    );
    expect(await stored(((await published.json()) as any).seq)).toEqual({ body: '{"order":17}', contentType: form });

    const before = suite.receiver.requests.length;
    const dispatched = await post(`/dispatch?_url=${encodeURIComponent(`${suite.receiver.url}/form`)}`, form, "[1,2]");
    expect(dispatched.status).toBe(202);
    expect(dispatched.headers.get(WARNING)).toMatch(/curl -d/);
    const [request] = (await suite.receiver.waitFor(before + 1)).slice(before);
    expect(request!.body.toString()).toBe("[1,2]");
    expect(request!.headers["content-type"]).toBe(form);

    const realForm = await post("/pub/typed/form", form, "order=17&note=%7B");
    expect(realForm.status).toBe(202);
    expect(realForm.headers.get(WARNING)).toBeNull();
  });
});
