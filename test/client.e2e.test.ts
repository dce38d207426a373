import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import {
  dispatch,
  HookdError,
  listen,
  type ListenOptions,
  publish,
  StreamEndedError,
  type TopicMessage,
} from "../src/client/index.ts";
import { adminToken, eventually, spawnTestHookd, startTestHookd, type TestHookd, tokenFor } from "./support/hookd.ts";
import { freePort, type HookdProcess } from "./support/processes.ts";
import { hookdSuite } from "./support/suite.ts";

const run = promisify(execFile);
const suite = hookdSuite();

/** A listener that records what it is given; stop() aborts it and waits for listen to resolve. */
function collect(url: string, options: Omit<ListenOptions, "onMessage" | "onOpen" | "onError" | "signal">) {
  const messages: TopicMessage[] = [];
  const errors: unknown[] = [];
  const controller = new AbortController();
  let markOpen!: () => void;
  const open = new Promise<void>((resolve) => (markOpen = resolve));
  const done = listen(url, {
    ...options,
    signal: controller.signal,
    onMessage: (message) => void messages.push(message),
    onOpen: () => markOpen(),
    onError: (error) => void errors.push(error),
  });
  done.catch(() => {});
  return {
    messages,
    errors,
    opened: Promise.race([open, done.then(() => Promise.reject(new Error("listen ended before it opened")))]),
    done,
    bodies: () => messages.map((message) => message.text()),
    async stop() {
      controller.abort();
      await done;
    },
  };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

describe("client library", () => {
  it("listen delivers live messages in order, once each, with their metadata", async () => {
    const token = await tokenFor("/sub/client/live");
    const publishing = { token: await tokenFor("/pub/client/") };
    const l = collect(`${suite.hookd.url}/sub/client/live`, { token });
    try {
      await l.opened;
      const sent = [
        await publish(suite.hookd.url, "client/live", '{"order":1}', {
          ...publishing,
          type: "order.created",
          contentType: "application/json",
        }),
        await publish(suite.hookd.url, "client/live", "two\nlines\r\nhere", publishing),
        await publish(suite.hookd.url, "client/live", new Uint8Array([0xff, 0x00, 0x01]), {
          ...publishing,
          type: "blob",
        }),
      ];
      await eventually(async () => l.messages.length >= 3, 10_000, "three messages");
      await settle();
      const [json, text, binary] = l.messages;
      expect(l.messages.map((m) => [m.seq, m.id, m.topic])).toEqual(sent.map((p) => [p.seq, p.id, "client/live"]));
      expect(sent[0]!.seq).toBeLessThan(sent[1]!.seq);
      expect(json).toMatchObject({ type: "order.created", contentType: "application/json" });
      expect(json!.json()).toEqual({ order: 1 });
      expect(json!.publishedAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      expect(text).toMatchObject({ type: null, contentType: "text/plain; charset=utf-8" });
      expect(text!.text()).toBe("two\nlines\r\nhere");
      expect(binary!.type).toBe("blob");
      expect([...binary!.body]).toEqual([0xff, 0x00, 0x01]);
      expect(JSON.parse(JSON.stringify(binary))).toMatchObject({
        seq: sent[2]!.seq,
        body_base64: "/wAB",
        content_type: "application/octet-stream",
      });
      expect(l.errors).toEqual([]);
    } finally {
      await l.stop();
    }
  });

  it("since=0 replays the retained log; a recursive URL names each topic; /sse/ with since=<seq> resumes after it", async () => {
    const publishing = { token: await tokenFor("/pub/client/replay/") };
    const a1 = await publish(suite.hookd.url, "client/replay/a", "a1", publishing);
    await publish(suite.hookd.url, "client/replay/b", "b1", publishing);
    await publish(suite.hookd.url, "client/replay/a", "a2", publishing);
    const all = collect(`${suite.hookd.url}/sub/client/replay/`, {
      token: await tokenFor("/sub/client/replay/"),
      since: 0,
    });
    const after = collect(`${suite.hookd.url}/sse/client/replay/a`, {
      token: await tokenFor("/sub/client/replay/a"),
      since: a1.seq,
    });
    try {
      await eventually(async () => all.messages.length >= 3 && after.messages.length >= 1, 10_000, "the replays");
      await settle();
      expect(all.messages.map((m) => `${m.topic} ${m.text()}`)).toEqual([
        "client/replay/a a1",
        "client/replay/b b1",
        "client/replay/a a2",
      ]);
      expect(after.bodies()).toEqual(["a2"]);
    } finally {
      await all.stop();
      await after.stop();
    }
  });

  it("a bad token, a bad since and a URL that is not a stream reject listen at once, without a retry loop", async () => {
    const errors: unknown[] = [];
    const common = { onMessage: () => {}, onError: (error: unknown) => void errors.push(error) };
    const url = `${suite.hookd.url}/sub/client/refused`;
    await expect(listen(url, { ...common, token: "0".repeat(40) })).rejects.toMatchObject({
      name: "HookdError",
      status: 401,
      detail: expect.stringMatching(/does not grant \/sub\/client\/refused/),
    });
    await expect(listen(url, { ...common, token: await tokenFor("/sub/client/"), since: "yesterday" })).rejects
      .toMatchObject({
        status: 400,
        message: expect.stringMatching(/^hookd answered 400: since must be "now", a sequence number/),
      });
    await expect(listen(`${suite.hookd.url}/healthz`, common)).rejects.toThrow(/not an event stream/);
    expect(errors).toEqual([]);
  });

  it("a bad since or URL rejects the promise listen returns rather than throwing at the call", async () => {
    const common = { onMessage: () => {} };
    const negative = listen(`${suite.hookd.url}/sub/client/refused`, { ...common, since: -1 });
    await expect(negative).rejects.toThrow(RangeError);
    const notAUrl = listen("not a url", common);
    await expect(notAUrl).rejects.toThrow(TypeError);
  });

  it("a silent connection is dropped after idleTimeoutMs and resumed, and nothing published meanwhile is missed", async () => {
    const l = collect(`${suite.hookd.url}/sub/client/idle`, {
      token: await tokenFor("/sub/client/idle"),
      idleTimeoutMs: 300,
      backoff: { initialMs: 20, maxMs: 100 },
    });
    try {
      await l.opened;
      await eventually(async () => l.errors.length >= 2, 10_000, "two idle timeouts");
      expect((l.errors[0] as Error).message).toMatch(/no data from hookd for 300 ms/);
      await publish(suite.hookd.url, "client/idle", "after a quiet spell", { token: await adminToken() });
      await eventually(async () => l.messages.length >= 1, 10_000, "the message");
      await settle();
      expect(l.bodies()).toEqual(["after a quiet spell"]);
    } finally {
      await l.stop();
    }
  });

  it("publish and dispatch throw hookd's problem; dispatch delivers bytes and JSON; an idempotency key publishes once", async () => {
    const token = await adminToken();
    const refused = await publish(suite.hookd.url, "a//b", "x", { token }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(HookdError);
    expect(refused).toMatchObject({
      status: 400,
      problem: { type: expect.stringMatching(/^urn:hookd:problem:/), detail: expect.stringMatching(/empty segment/) },
    });
    await expect(dispatch(suite.hookd.url, { url: "http://127.0.0.1:1/x" }, { token: "0".repeat(40) })).rejects
      .toMatchObject({ status: 401 });

    const once = await publish(suite.hookd.url, "client/idempotent", "x", { token, idempotencyKey: "client-key-1" });
    expect(await publish(suite.hookd.url, "client/idempotent", "x", { token, idempotencyKey: "client-key-1" })).toEqual(
      once,
    );

    const before = suite.receiver.requests.length;
    const json = await dispatch(suite.hookd.url, {
      url: `${suite.receiver.url}/client/json`,
      body: { hello: "client" },
      headers: { "X-Tenant": "acme" },
    }, { token });
    const bytes = await dispatch(suite.hookd.url, {
      url: `${suite.receiver.url}/client/bytes`,
      body: new Uint8Array([1, 2, 255]),
      contentType: "application/x-blob",
    }, { token });
    expect(json.id).toMatch(/^dlv_/);
    expect(bytes.id).toMatch(/^dlv_/);
    const received = (await suite.receiver.waitFor(before + 2)).slice(before);
    const byPath = Object.fromEntries(received.map((r) => [r.path, r]));
    expect(JSON.parse(byPath["/client/json"]!.body.toString())).toEqual({ hello: "client" });
    expect(byPath["/client/json"]!.headers["x-tenant"]).toBe("acme");
    expect([...byPath["/client/bytes"]!.body]).toEqual([1, 2, 255]);
    expect(byPath["/client/bytes"]!.headers["content-type"]).toBe("application/x-blob");
  });

  it("listen resumes across a hookd restart without gaps: 1..15 exactly once, in order", async () => {
    const env = { NATS_URL: suite.nats.url, HOOKD_PORT: String(await freePort()) };
    const topic = "client/restart";
    const publishing = { token: await tokenFor("/pub/client/restart") };
    let second: HookdProcess | undefined;
    let other: TestHookd | undefined;
    const first: HookdProcess = await spawnTestHookd(env);
    const l = collect(`${first.url}/sub/${topic}`, {
      token: await tokenFor(`/sub/${topic}`),
      backoff: { initialMs: 50, maxMs: 400 },
    });
    try {
      await l.opened;
      for (let i = 1; i <= 5; i++) await publish(first.url, topic, String(i), publishing);
      await eventually(async () => l.messages.length >= 5, 10_000, "1..5");
      await first.kill("SIGKILL");

      // While the listener's hookd is down, another instance on the same NATS takes the publishes.
      other = await startTestHookd(suite.nats.url);
      for (let i = 6; i <= 10; i++) await publish(other.url, topic, String(i), publishing);
      await eventually(async () => l.errors.length >= 2, 10_000, "failed reconnects");

      second = await spawnTestHookd(env);
      expect(second.url).toBe(first.url);
      for (let i = 11; i <= 15; i++) await publish(second.url, topic, String(i), publishing);
      await eventually(async () => l.messages.length >= 15, 20_000, "1..15");
      await settle();
      expect(l.bodies()).toEqual(Array.from({ length: 15 }, (_, i) => String(i + 1)));
      const seqs = l.messages.map((m) => m.seq);
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
      expect(new Set(seqs).size).toBe(15);

      // A stopping hookd says so, with the last id, and the client takes it as a reason to come back.
      await second.kill("SIGTERM");
      const ended = await eventually(
        async () => l.errors.find((e): e is StreamEndedError => e instanceof StreamEndedError),
        10_000,
        "hookd.disconnect",
      );
      expect(ended).toMatchObject({ reason: "shutting-down", lastId: seqs[14] });
    } finally {
      await l.stop();
      await first?.kill();
      await second?.kill();
      await other?.stop();
    }
  });
});

describe("packaging and CLI", () => {
  beforeAll(async () => {
    if (!existsSync("dist/client.js")) await run("npm", ["run", "build:client"]);
  });

  it("plain Node (no tsx) imports hookd/client from the bundle, and it works", async () => {
    const { stdout } = await run(process.execPath, [
      "--input-type=module",
      "-e",
      "import('hookd/client').then(m => console.log(typeof m.listen))",
    ]);
    expect(stdout).toBe("function\n");

    const script = `
      const { listen, publish } = await import("hookd/client");
      const { URL_, PUB, SUB } = process.env;
      await publish(URL_, "client/plain", "from plain node", { token: PUB });
      const stop = new AbortController();
      await listen(URL_ + "/sub/client/plain", { token: SUB, since: 0, signal: stop.signal, onMessage: (m) => { console.log(m.topic, m.text()); stop.abort(); } });`;
    const env = {
      ...process.env,
      URL_: suite.hookd.url,
      PUB: await tokenFor("/pub/client/plain"),
      SUB: await tokenFor("/sub/client/plain"),
    };
    const resolved = await run(process.execPath, [
      "--input-type=module",
      "-e",
      "console.log(import.meta.resolve('hookd/client'))",
    ]);
    expect(resolved.stdout.trim()).toMatch(/\/dist\/client\.js$/);
    expect((await run(process.execPath, ["--input-type=module", "-e", script], { env, timeout: 20_000 })).stdout).toBe(
      "client/plain from plain node\n",
    );
  });

  it("hookd tail prints messages as they arrive, one line each (or the envelope with --json), and stops on SIGINT", async () => {
    const url = suite.hookd.url;
    const token = await adminToken();
    await publish(url, "client/tail/a", '{"n":1}', { token, type: "t.one", contentType: "application/json" });
    const tails = [["client/tail/a"], ["client/tail/", "--json"]].map((args) => {
      const child = spawn(process.execPath, [
        "--import",
        "tsx",
        "src/cli/hookd.ts",
        "tail",
        ...args,
        "--since",
        "0",
        "--url",
        url,
        "--token",
        token,
      ], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
      return { child, exited, lines: () => stdout.split("\n").filter(Boolean), stderr: () => stderr };
    });
    const [plain, json] = tails as [(typeof tails)[number], (typeof tails)[number]];
    try {
      await eventually(
        async () => plain.lines().length >= 1 && json.lines().length >= 1,
        20_000,
        "the replayed message",
      );
      const live = await publish(url, "client/tail/a", "line one\nline two", { token });
      await eventually(async () => plain.lines().length >= 2 && json.lines().length >= 2, 10_000, "the live message");
      expect(plain.lines()[0]).toMatch(/^\d+ client\/tail\/a t\.one \{"n":1\}$/);
      expect(plain.lines()[1]).toBe(`${live.seq} client/tail/a - line one\\nline two`);
      expect(JSON.parse(json.lines()[1]!)).toEqual({
        seq: live.seq,
        id: live.id,
        topic: "client/tail/a",
        type: null,
        content_type: "text/plain; charset=utf-8",
        published_at: expect.any(String),
        body: "line one\nline two",
      });
      for (const tail of tails) tail.child.kill("SIGINT");
      expect(await plain.exited).toBe(0);
      expect(await json.exited).toBe(0);
      expect(plain.stderr()).toBe("");
    } finally {
      for (const tail of tails) if (tail.child.exitCode === null) tail.child.kill("SIGKILL");
    }
  });
});
