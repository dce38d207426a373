import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { encodeSecret } from "../src/domain/sign-standard-webhooks.ts";
import { parseStaticConfig, StaticConfigError } from "../src/domain/static-config.ts";
import { staticSubscriptionId } from "../src/runtime/static-subscriptions.ts";
import { api, startTestHookd } from "./support/hookd.ts";
import { hookdSuite } from "./support/suite.ts";

const secret = encodeSecret(new Uint8Array(32).fill(4));

describe("config file parsing", () => {
  it("says exactly what is wrong", () => {
    const attempt = (text: string) => {
      try {
        parseStaticConfig(text, "hookd.yaml");
        return "ok";
      } catch (error) {
        expect(error).toBeInstanceOf(StaticConfigError);
        return (error as Error).message;
      }
    };
    expect(attempt("subscriptions: [\n")).toMatch(/hookd.yaml is not valid YAML or JSON/);
    expect(attempt("subscriptions:\n  - name: a\n    topic: x\n    url: https://example.com/h\n")).toMatch(
      /subscriptions.0.secret: needs a Standard Webhooks secret/,
    );
    expect(
      attempt("subscriptions:\n  - name: a\n    topic: a//b\n    url: https://example.com/h\n    dialect: plain\n"),
    ).toMatch(/subscriptions.0.topic: the topic has an empty segment/);
    expect(attempt('{"subscriptions":[{"name":"a","topic":"x","url":"ftp://x","dialect":"plain"}]}')).toMatch(
      /subscriptions.0.url/,
    );
    expect(
      attempt(
        "subscriptions:\n  - {name: a, topic: x, url: 'https://e.com/', dialect: plain}\n  - {name: a, topic: y, url: 'https://e.com/', dialect: plain}\n",
      ),
    ).toMatch(/"a" is used twice/);
    expect(attempt("")).toBe("ok");
  });
});

describe("static subscriptions from HOOKD_CONFIG", () => {
  // The test starts hookd three times, each time on a changed config file.
  const suite = hookdSuite({ hookd: "none", receiver: false });

  async function runWith(yaml: string) {
    const file = join(suite.dir, "hookd.yaml");
    await writeFile(file, yaml);
    return startTestHookd(suite.nats.url, { HOOKD_CONFIG: file });
  }

  async function publish(url: string, topic: string, body: string) {
    const response = await api(url, `/pub/${topic}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    expect(response.status).toBe(202);
  }

  it("creates them at start, updates changed ones, deactivates removed ones and resumes re-added ones", async () => {
    const [plain, signed, moved] = await Promise.all([
      suite.startReceiver(),
      suite.startReceiver(),
      suite.startReceiver(),
    ]);
    const both = (signedUrl: string) =>
      `subscriptions:
  - name: plain-one
    topic: static/a
    url: ${plain.url}/a
    dialect: plain
  - name: signed-one
    topic: static/
    url: ${signedUrl}
    secret: ${secret}
    event_types: [thing.happened]
`;
    let hookd = await runWith(both(`${signed.url}/b`));
    try {
      await publish(hookd.url, "static/a?type=thing.happened", '{"n":1}');
      await plain.waitFor(1);
      const [request] = await signed.waitFor(1);
      expect(new Webhook(secret).verify(request!.body.toString(), request!.headers as Record<string, string>)).toEqual({
        n: 1,
      });
      const listed = await (await api(hookd.url, "/api/v1/subscriptions?limit=10")).json();
      expect(listed.data.map((s: { metadata: { config_name: string } }) => s.metadata.config_name).sort()).toEqual([
        "plain-one",
        "signed-one",
      ]);
    } finally {
      await hookd.stop();
    }

    // The plain one leaves the file; the signed one moves to another URL.
    hookd = await runWith(
      both(`${moved.url}/b`).split("  - name: signed-one")[0]!.replace(/ {2}- name: plain-one[\s\S]*/, "") +
        `  - name: signed-one
    topic: static/
    url: ${moved.url}/b
    secret: ${secret}
    event_types: [thing.happened]
`,
    );
    const plainId = await staticSubscriptionId("plain-one");
    try {
      const removed = await (await api(hookd.url, `/api/v1/subscriptions/${plainId}`)).json();
      expect(removed).toMatchObject({ state: "paused", status_message: "paused: removed from the config file" });
      await publish(hookd.url, "static/a?type=thing.happened", '{"n":2}');
      await moved.waitFor(1);
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect(plain.requests).toHaveLength(1);
      expect(signed.requests).toHaveLength(1);
    } finally {
      await hookd.stop();
    }

    // Put back, it resumes.
    hookd = await runWith(both(`${moved.url}/b`));
    try {
      expect((await (await api(hookd.url, `/api/v1/subscriptions/${plainId}`)).json()).state).toBe("active");
      await publish(hookd.url, "static/a", '{"n":3}');
      await plain.waitFor(2);
    } finally {
      await hookd.stop();
    }
  }, 60_000);

  it("an ordered subscription from the file delivers in order; a later change of ordered is ignored", async () => {
    const r = await suite.startReceiver();
    const entry = (ordered: boolean, description: string) =>
      `subscriptions:
  - name: ledger
    topic: static/ledger
    url: ${r.url}
    dialect: plain
    ordered: ${ordered}
    description: ${description}
`;
    const id = await staticSubscriptionId("ledger");
    let hookd = await runWith(entry(true, "first"));
    try {
      for (let i = 0; i < 5; i++) await publish(hookd.url, "static/ledger", String(i));
      expect((await r.waitFor(5)).map((request) => request.body.toString())).toEqual(["0", "1", "2", "3", "4"]);
      const view = await (await api(hookd.url, `/api/v1/subscriptions/${id}`)).json();
      expect(view.ordered).toBe(true);
      expect(view.ordered_line.head).not.toBeNull();
    } finally {
      await hookd.stop();
    }
    // The description is updated; ordered stays as the subscription was created.
    hookd = await runWith(entry(false, "second"));
    try {
      const view = await (await api(hookd.url, `/api/v1/subscriptions/${id}`)).json();
      expect(view).toMatchObject({ description: "second", ordered: true });
    } finally {
      await hookd.stop();
    }
  }, 60_000);
});
