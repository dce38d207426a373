import { jetstreamManager } from "@nats-io/jetstream";
import { request } from "node:http";
import { beforeAll, describe, expect, it } from "vitest";
import { adminToken, api, eventually, tokenFor } from "./support/hookd.ts";
import { openSse, openWs, upgradeStatus } from "./support/stream-clients.ts";
import { hookdSuite } from "./support/suite.ts";
import { createLayout } from "../src/nats/layout.ts";

const layout = createLayout();

/** Streams out over SSE, WebSocket and /stream, with real clients (the eventsource and ws packages, fetch). */

const suite = hookdSuite({
  env: {
    HOOKD_STREAM_BUFFER: "16KiB",
    HOOKD_MAX_BODY: "256KiB",
    HOOKD_STREAM_MAX_PER_TOKEN: "40",
    HOOKD_STREAM_HEARTBEAT: "400ms",
  },
  connect: true,
});
let admin: string;

beforeAll(async () => {
  admin = await adminToken();
});

let topicCount = 0;
/** A fresh topic per test, so tests don't see each other's messages. */
const freshTopic = (name: string) => `streams/${name}-${++topicCount}`;

async function publish(
  topic: string,
  body: string | Uint8Array,
  headers: Record<string, string> = {},
): Promise<{ seq: number; id: string }> {
  const response = await api(suite.hookd.url, `/pub/${topic}`, { method: "POST", body: body as BodyInit, headers });
  if (response.status !== 202) throw new Error(`publish: ${response.status} ${await response.text()}`);
  return (await response.json()) as { seq: number; id: string };
}

async function metric(name: string): Promise<number> {
  const text = await (await api(suite.hookd.url, "/metrics")).text();
  const line = text.split("\n").find((candidate) => candidate.startsWith(name + " "));
  return line ? Number(line.split(" ")[1]) : 0;
}
const cutOffCount = () => metric('hookd_streams_ended_total{reason="slow-consumer"}');
const openStreams = () => metric("hookd_streams_open");

/** Ephemeral consumers on the topic log reading this topic: the live feeds and replays that its streams hold. */
async function streamConsumers(topic: string): Promise<number> {
  const jsm = await jetstreamManager(suite.nc);
  const consumers = await jsm.consumers.list(layout.streams.topics).next();
  // A consumer deleted while the list is read comes back as null.
  return consumers.filter((consumer) =>
    consumer && !consumer.config.durable_name && consumer.config.filter_subject === layout.subjects.topic(topic)
  ).length;
}

describe("Server-Sent Events", () => {
  it("deliver live messages in order, each with its sequence as id and its type as event name", async () => {
    const topic = freshTopic("live");
    const client = openSse(`${suite.hookd.url}/sub/${topic}`, admin, { names: ["order.created"] });
    await client.opened;
    const sent = [];
    for (let i = 1; i <= 10; i++) {
      sent.push(await publish(topic, `message ${i}`, i === 3 ? { "hookd-event-type": "order.created" } : {}));
    }
    const events = await client.waitFor(10);
    client.close();
    expect(events.map((event) => event.data)).toEqual(sent.map((_, i) => `message ${i + 1}`));
    expect(events.map((event) => Number(event.id))).toEqual(sent.map((sentOne) => sentOne.seq));
    expect(events[2]!.type).toBe("order.created");
    expect(events[0]!.type).toBe("message");
  });

  it("resume with Last-Event-ID: a listener that left after message 5 of 10 gets 6..10 exactly once", async () => {
    const topic = freshTopic("resume");
    const first = openSse(`${suite.hookd.url}/sse/${topic}`, admin);
    await first.opened;
    for (let i = 1; i <= 5; i++) await publish(topic, `m${i}`);
    const seen = await first.waitFor(5);
    first.close();
    const lastId = seen[4]!.id;
    for (let i = 6; i <= 10; i++) await publish(topic, `m${i}`);

    const second = openSse(`${suite.hookd.url}/sse/${topic}`, admin, { lastEventId: lastId });
    await second.waitFor(5);
    await publish(topic, "m11");
    const resumed = await second.waitFor(6);
    await new Promise((resolve) => setTimeout(resolve, 200));
    second.close();
    expect(resumed.map((event) => event.data)).toEqual(["m6", "m7", "m8", "m9", "m10", "m11"]);
  });

  it("since=<seq> and since=<ISO time> replay from the log, then go live", async () => {
    const topic = freshTopic("since");
    const early = await publish(topic, "early");
    await new Promise((resolve) => setTimeout(resolve, 50));
    const from = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await publish(topic, "late 1");
    await publish(topic, "late 2");

    const byTime = openSse(`${suite.hookd.url}/sse/${topic}?since=${encodeURIComponent(from)}`, admin);
    const bySeq = openSse(`${suite.hookd.url}/sse/${topic}?since=${early.seq - 1}`, admin);
    await byTime.waitFor(2);
    await bySeq.waitFor(3);
    await publish(topic, "live");
    expect((await byTime.waitFor(3)).map((event) => event.data)).toEqual(["late 1", "late 2", "live"]);
    expect((await bySeq.waitFor(4)).map((event) => event.data)).toEqual(["early", "late 1", "late 2", "live"]);
    byTime.close();
    bySeq.close();
  });

  it("start now by default: a new listener gets nothing from before it connected", async () => {
    const topic = freshTopic("now");
    await publish(topic, "before");
    const client = openSse(`${suite.hookd.url}/sse/${topic}`, admin);
    await client.opened;
    await publish(topic, "after");
    expect((await client.waitFor(1)).map((event) => event.data)).toEqual(["after"]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(client.events).toHaveLength(1);
    client.close();
  });

  it("frame multi-line bodies so they arrive whole, and send binary bodies as base64 with an event name saying so", async () => {
    const topic = freshTopic("framing");
    const client = openSse(`${suite.hookd.url}/sse/${topic}`, admin, { names: ["message+base64"] });
    await client.opened;
    await publish(topic, "line one\nline two\n\nline four");
    await publish(topic, new Uint8Array([0xff, 0xfe, 0x00, 0x01]), { "content-type": "application/octet-stream" });
    const [text, binary] = await client.waitFor(2);
    client.close();
    expect(text!.data).toBe("line one\nline two\n\nline four");
    expect(binary!.type).toBe("message+base64");
    expect(Buffer.from(binary!.data, "base64")).toEqual(Buffer.from([0xff, 0xfe, 0x00, 0x01]));
  });

  it("a recursive subscription (/sub/foo/) gets every topic below foo/ and each frame names its topic", async () => {
    const base = freshTopic("tree");
    const client = openSse(`${suite.hookd.url}/sub/${base}/`, admin, { names: ["deep"] });
    await client.opened;
    await publish(`${base}/a`, "to a");
    await publish(`${base}x`, "sibling, not below");
    await publish(`${base}/b/c`, "to b/c", { "hookd-event-type": "deep" });
    await publish(base, "the topic itself, not below");
    const events = await client.waitFor(2);
    await new Promise((resolve) => setTimeout(resolve, 200));
    client.close();
    expect(events).toHaveLength(2);
    const data = events.map((event) => JSON.parse(event.data));
    expect(data.map((envelope) => [envelope.topic, envelope.body])).toEqual([
      [`${base}/a`, "to a"],
      [`${base}/b/c`, "to b/c"],
    ]);
    expect(data[1].type).toBe("deep");
    expect(Number(events[0]!.id)).toBe(data[0].seq);
  });

  it("releases the NATS consumers as soon as the last listener disconnects", async () => {
    const topic = freshTopic("release");
    expect(await streamConsumers(topic)).toBe(0);
    const a = openSse(`${suite.hookd.url}/sse/${topic}`, admin);
    const b = openSse(`${suite.hookd.url}/sse/${topic}`, admin);
    await Promise.all([a.opened, b.opened]);
    // Two listeners of one topic share one live feed.
    expect(await streamConsumers(topic)).toBe(1);
    a.close();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await streamConsumers(topic)).toBe(1);
    b.close();
    await eventually(async () => (await streamConsumers(topic)) === 0, 1_000, "the feed's consumer to be deleted");
  });
});

describe("SSE starting points", () => {
  it("tell a new listener where it starts (an id with no data), so even a listener that got nothing yet resumes without a gap", async () => {
    const topic = freshTopic("position");
    const last = await publish(topic, "before");
    const response = await fetch(`${suite.hookd.url}/sse/${topic}`, { headers: { authorization: `Bearer ${admin}` } });
    const reader = response.body!.getReader();
    let text = "";
    while (!/\nid: \d+\n\n/.test(text)) text += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    expect(Number(/\nid: (\d+)\n\n/.exec(text)![1])).toBeGreaterThanOrEqual(last.seq);
  });

  it("a Last-Event-ID beyond the end of the log (a reset store) starts now instead of dropping what comes", async () => {
    const topic = freshTopic("reset");
    const client = openSse(`${suite.hookd.url}/sse/${topic}`, admin, { lastEventId: "999999999" });
    await client.opened;
    await publish(topic, "after the reset");
    expect((await client.waitFor(1)).map((event) => event.data)).toEqual(["after the reset"]);
    client.close();
  });

  it("HEAD answers with the headers and opens no stream", async () => {
    const topic = freshTopic("head");
    const before = await openStreams();
    for (let i = 0; i < 3; i++) {
      const response = await fetch(`${suite.hookd.url}/sse/${topic}`, {
        method: "HEAD",
        headers: { authorization: `Bearer ${admin}` },
      });
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    }
    expect(await openStreams()).toBe(before);
  });
});

describe("WebSocket (Hookbot)", () => {
  it("pings idle sockets and drops a peer that stops answering, freeing its slot", async () => {
    const topic = freshTopic("ping");
    const headers = { authorization: `Bearer ${admin}` };
    const healthy = await openWs(`${suite.hookd.url}/sub/${topic}`, headers);
    const asleep = await openWs(`${suite.hookd.url}/sub/${topic}`, headers, { autoPong: false });
    const gone = await Promise.race([
      asleep.closed.then(() => true),
      new Promise((resolve) => setTimeout(() => resolve(false), 5_000)),
    ]);
    expect(gone).toBe(true);
    expect(healthy.socket.readyState).toBe(1);
    await publish(topic, "still here");
    expect((await healthy.waitFor(1))[0]!.data.toString()).toBe("still here");
    healthy.close();
  });

  it("sends each message as a binary frame holding the body", async () => {
    const topic = freshTopic("ws");
    const client = await openWs(`${suite.hookd.url}/sub/${topic}`, { authorization: `Bearer ${admin}` });
    await publish(topic, "hello");
    await publish(topic, new Uint8Array([0, 1, 2, 255]));
    const frames = await client.waitFor(2);
    client.close();
    expect(frames.every((frame) => frame.binary)).toBe(true);
    expect(frames[0]!.data.toString()).toBe("hello");
    expect([...frames[1]!.data]).toEqual([0, 1, 2, 255]);
  });

  it("frames recursive subscriptions as topic NUL body, and resumes with ?since=", async () => {
    const base = freshTopic("wsrec");
    const before = await publish(`${base}/one`, "first");
    await publish(`${base}/two`, "second");
    const client = await openWs(`${suite.hookd.url}/sub/${base}/?since=${before.seq - 1}`, {
      authorization: `Bearer ${await tokenFor(`/sub/${base}/`)}`,
    });
    await publish(`${base}/three/deep`, "third");
    const frames = await client.waitFor(3);
    client.close();
    expect(frames.map((frame) => frame.data.toString("latin1"))).toEqual([
      `${base}/one\u0000first`,
      `${base}/two\u0000second`,
      `${base}/three/deep\u0000third`,
    ]);
  });

  it("refuses an upgrade without a valid token with 401, and with a bad since with 400", async () => {
    const topic = freshTopic("wsauth");
    expect(await upgradeStatus(`${suite.hookd.url}/sub/${topic}`, {})).toBe(401);
    expect(
      await upgradeStatus(`${suite.hookd.url}/sub/${topic}`, {
        authorization: `Bearer ${await tokenFor("/sub/other")}`,
      }),
    ).toBe(401);
    expect(await upgradeStatus(`${suite.hookd.url}/sub/${topic}?since=yesterday`, { authorization: `Bearer ${admin}` }))
      .toBe(400);
  });
});

/** A GET with exactly these headers, through node:http (fetch sends no Upgrade); what came back, upgrade or not. */
function rawGet(url: string, headers: Record<string, string>): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const sent = request(url, { headers });
    sent.once("upgrade", (response, socket) => {
      socket.destroy();
      resolve({ status: response.statusCode ?? 0, type: "", body: "" });
    });
    sent.once("response", (response) => {
      let body = "";
      response.on("data", (chunk: Buffer) => (body += chunk.toString()));
      response.once(
        "end",
        () => resolve({ status: response.statusCode ?? 0, type: String(response.headers["content-type"]), body }),
      );
    });
    sent.once("error", reject);
    sent.end();
  });
}

describe("a WebSocket handshake hookd cannot take", () => {
  it("without Connection: Upgrade is a 400 problem naming what to send; a bad key is refused by the WebSocket server", async () => {
    const url = `${suite.hookd.url}/sub/${freshTopic("wsbroken")}`;
    const auth = { authorization: `Bearer ${admin}` };
    const alone = await rawGet(url, { ...auth, upgrade: "websocket" });
    expect(alone.status).toBe(400);
    expect(alone.type).toBe("application/problem+json");
    expect(JSON.parse(alone.body).detail).toMatch(/send "Connection: Upgrade" and "Upgrade: websocket"/);
    const handshake = { ...auth, connection: "Upgrade", upgrade: "websocket", "sec-websocket-version": "13" };
    const badKey = await rawGet(url, { ...handshake, "sec-websocket-key": "bad" });
    expect(badKey.status).toBe(400);
    expect(badKey.body).toMatch(/Sec-WebSocket-Key/);
    // The same request with a whole handshake is upgraded.
    expect((await rawGet(url, { ...handshake, "sec-websocket-key": Buffer.alloc(16, 7).toString("base64") })).status)
      .toBe(101);
  });
});

describe("Hookah's /stream", () => {
  it("streams one JSON line per message, with the same resume options", async () => {
    const topic = freshTopic("jsonl");
    const first = await publish(topic, "one", { "hookd-event-type": "thing.happened" });
    const response = await fetch(
      `${suite.hookd.url}/stream?topic=${encodeURIComponent(topic)}&since=${first.seq - 1}`,
      {
        headers: { authorization: `Bearer ${await tokenFor(`/sub/${topic}`)}` },
      },
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^application\/x-ndjson/);
    await publish(topic, "two\nlines");
    const reader = response.body!.getReader();
    let text = "";
    while (text.split("\n").filter(Boolean).length < 2) text += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    const lines = text.split("\n").filter(Boolean).map((line) => JSON.parse(line));
    expect(lines.map((line) => [line.seq > 0, line.topic, line.type, line.body])).toEqual([
      [true, topic, "thing.happened", "one"],
      [true, topic, null, "two\nlines"],
    ]);
    expect(lines[0].seq).toBe(first.seq);
  });
});

describe("Hookbot paths and rules", () => {
  it("GET /status answers OK without a token", async () => {
    const response = await fetch(`${suite.hookd.url}/status`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("OK");
  });

  it("/unsafe/pub/ needs no token; /unsafe/sub/ needs the consent header and a token; unsafe and safe topics never mix", async () => {
    const topic = freshTopic("unsafe");
    const consent = { "x-hookbot-unsafe-is-ok": "I understand the security implications" };

    const noHeader = await fetch(`${suite.hookd.url}/unsafe/sub/${topic}`, {
      headers: { accept: "text/event-stream", authorization: `Bearer ${admin}` },
    });
    expect(noHeader.status).toBe(400);
    expect((await noHeader.json()).detail).toContain("X-Hookbot-Unsafe-Is-Ok: I understand the security implications");
    const noToken = await fetch(`${suite.hookd.url}/unsafe/sub/${topic}`, {
      headers: { accept: "text/event-stream", ...consent },
    });
    expect(noToken.status).toBe(401);
    expect(await upgradeStatus(`${suite.hookd.url}/unsafe/sub/${topic}`, { ...consent })).toBe(401);

    const unsafeWs = await openWs(`${suite.hookd.url}/unsafe/sub/${topic}`, {
      ...consent,
      authorization: `Bearer ${await tokenFor(`/unsafe/sub/${topic}`)}`,
    });
    const safeSse = openSse(`${suite.hookd.url}/sse/${topic}`, admin);
    await safeSse.opened;

    const published = await fetch(`${suite.hookd.url}/unsafe/pub/${topic}`, { method: "POST", body: "from anyone" });
    expect(published.status).toBe(202);
    await publish(topic, "from a token holder");

    expect((await unsafeWs.waitFor(1))[0]!.data.toString()).toBe("from anyone");
    expect((await safeSse.waitFor(1))[0]!.data).toBe("from a token holder");
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(unsafeWs.frames).toHaveLength(1);
    expect(safeSse.events).toHaveLength(1);
    unsafeWs.close();
    safeSse.close();
  });

  it("counts a token's streams whatever the case of its letters, and takes a token sent as the Basic password", async () => {
    const topic = freshTopic("case");
    const token = await tokenFor(`/sub/${topic}`);
    const open: Response[] = [];
    for (let i = 0; i < 40; i++) {
      const variant = i % 2 === 0 ? token : token.toUpperCase();
      const response = await fetch(`${suite.hookd.url}/sse/${topic}`, {
        headers: { authorization: `Bearer ${variant}` },
      });
      expect(response.status).toBe(200);
      open.push(response);
    }
    const refused = await fetch(`${suite.hookd.url}/sse/${topic}`, {
      headers: { authorization: `Bearer ${token.toUpperCase()}` },
    });
    expect(refused.status).toBe(429);
    await refused.body?.cancel();
    for (const response of open) await response.body!.cancel();
    const basic = await fetch(`${suite.hookd.url}/sse/${topic}`, {
      headers: { authorization: `Basic ${btoa(`listener:${token}`)}` },
    });
    expect(basic.status).toBe(200);
    await basic.body!.cancel();
  });

  it("/stream takes the /sub/ token of exactly the topic asked for: no dot segments, and escaped characters match", async () => {
    const escaped = await fetch(`${suite.hookd.url}/stream?topic=${encodeURIComponent("streams/a b?c")}`, {
      headers: { authorization: `Bearer ${await tokenFor("/sub/streams/a%20b%3Fc")}` },
    });
    expect(escaped.status).toBe(200);
    await escaped.body!.cancel();
    const dotted = await fetch(`${suite.hookd.url}/stream?topic=${encodeURIComponent("secret/../public/x")}`, {
      headers: { authorization: `Bearer ${await tokenFor("/sub/public/x")}` },
    });
    expect(dotted.status).toBe(401);
    const dottedAdmin = await fetch(`${suite.hookd.url}/stream?topic=${encodeURIComponent("secret/../public/x")}`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(dottedAdmin.status).toBe(400);
    expect((await dottedAdmin.json()).detail).toMatch(/"\." or "\.\." segment/);
  });

  it("a token for /sub/<topic> reads it over /sse/ and /stream too, and the prefix rule holds", async () => {
    const topic = freshTopic("scopes");
    const exact = await tokenFor(`/sub/${topic}`);
    const parent = await tokenFor(`/sub/streams/`);
    for (const token of [exact, parent]) {
      for (const path of [`/sse/${topic}`, `/stream?topic=${encodeURIComponent(topic)}`]) {
        const response = await fetch(`${suite.hookd.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
        expect(response.status, `${path}`).toBe(200);
        await response.body!.cancel();
      }
    }
    const other = await fetch(`${suite.hookd.url}/sse/${topic}`, {
      headers: { authorization: `Bearer ${await tokenFor(`/sub/${topic}x`)}` },
    });
    expect(other.status).toBe(401);
    expect(other.headers.get("www-authenticate")).toBe('Basic realm="hookd"');
    const viaQuery = await fetch(`${suite.hookd.url}/sse/${topic}?token=${exact}`);
    expect(viaQuery.status).toBe(200);
    await viaQuery.body!.cancel();
  });
});

describe("bad input", () => {
  it("names what is wrong: invalid since or Last-Event-ID, a bad topic, an unknown format, no stream kind", async () => {
    const topic = freshTopic("bad");
    const cases: [string, Record<string, string>, number, RegExp][] = [
      [`/sse/${topic}?since=yesterday`, {}, 400, /since must be "now", a sequence number/],
      [`/sse/${topic}`, { "last-event-id": "abc" }, 400, /Last-Event-ID/],
      [`/sse/${topic}?format=xml`, {}, 400, /format must be/],
      [`/sse/a//b`, {}, 400, /empty segment/],
      [`/stream`, {}, 400, /topic is required/],
      [`/sse/${topic}?since=-5`, {}, 400, /since must be/],
      [`/sub/${topic}`, {}, 406, /Accept: text\/event-stream/],
    ];
    for (const [path, headers, status, detail] of cases) {
      const response = await fetch(`${suite.hookd.url}${path}`, {
        headers: { authorization: `Bearer ${admin}`, ...headers },
      });
      expect(response.status, path).toBe(status);
      expect(response.headers.get("content-type")).toBe("application/problem+json");
      expect((await response.json()).detail, path).toMatch(detail);
    }
  });

  it("answers 429 past the per-token limit of open streams, and frees a slot when a stream closes", async () => {
    const topic = freshTopic("limit");
    const token = await tokenFor(`/sub/${topic}`);
    const open: Response[] = [];
    for (let i = 0; i < 40; i++) {
      const response = await fetch(`${suite.hookd.url}/sse/${topic}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(response.status).toBe(200);
      open.push(response);
    }
    const refused = await fetch(`${suite.hookd.url}/sse/${topic}`, { headers: { authorization: `Bearer ${token}` } });
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("5");
    expect((await refused.json()).detail).toMatch(/already holds 40 open streams/);
    // Another token is counted on its own.
    const otherToken = await fetch(`${suite.hookd.url}/sse/${topic}`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(otherToken.status).toBe(200);
    await otherToken.body!.cancel();

    await open.pop()!.body!.cancel();
    const again = await eventually(
      async () => {
        const response = await fetch(`${suite.hookd.url}/sse/${topic}`, {
          headers: { authorization: `Bearer ${token}` },
        });
        if (response.status === 200) return response;
        await response.body?.cancel();
        return undefined;
      },
      5_000,
      "a free slot",
    );
    await again.body!.cancel();
    for (const response of open) await response.body!.cancel();
  });
});

describe("slow consumers", () => {
  it("a stalled listener is cut off while the others and the publisher keep going, and it can resume from its last id", async () => {
    const topic = freshTopic("stall");
    const fast = openSse(`${suite.hookd.url}/sse/${topic}`, admin);
    await fast.opened;

    // A real HTTP client that reads the head and then stops reading its socket.
    let received = "";
    let ended = false;
    const stalled = await new Promise<import("node:http").IncomingMessage>((resolve, reject) => {
      const req = request(
        `${suite.hookd.url}/sse/${topic}`,
        { headers: { authorization: `Bearer ${admin}` } },
        resolve,
      );
      req.on("error", reject);
      req.end();
    });
    stalled.on("data", (chunk: Buffer) => {
      received += chunk.toString();
      if (!ended) stalled.pause();
    });
    const finished = new Promise<void>((resolve) => {
      stalled.on("close", resolve);
      stalled.on("error", () => resolve());
      stalled.on("aborted", () => resolve());
    });
    await eventually(async () => received.length > 0 || undefined, 5_000, "the stream head");
    const cutOffBefore = await cutOffCount();
    const openBefore = await openStreams();

    const body = "x".repeat(100 * 1024);
    const started = Date.now();
    for (let i = 0; i < 150; i++) await publish(topic, `${i} ${body}`);
    const publishMs = Date.now() - started;

    await fast.waitFor(150, 30_000);
    expect(fast.events.map((event) => event.data.split(" ")[0])).toEqual(
      Array.from({ length: 150 }, (_, i) => String(i)),
    );
    expect(publishMs).toBeLessThan(30_000);
    fast.close();
    // hookd let the stalled listener go instead of holding 15 MB for it, and dropped its connection.
    await eventually(
      async () => (await cutOffCount()) === cutOffBefore + 1 || undefined,
      15_000,
      "the stalled listener to be cut off",
    );
    await eventually(
      async () => (await openStreams()) === openBefore - 2 || undefined,
      15_000,
      "its stream to be gone",
    );
    ended = true;
    stalled.resume();
    await finished;
    const frames = received.split("\n\n").filter((frame) => frame.startsWith("id: "));
    expect(frames.length).toBeLessThan(150);

    // Resuming from where it was (here: from the start) still yields everything, in order.
    const resumed = openSse(`${suite.hookd.url}/sse/${topic}?since=0`, admin);
    await resumed.waitFor(150, 30_000);
    resumed.close();
    expect(resumed.events.map((event) => event.data.split(" ")[0])).toEqual(
      Array.from({ length: 150 }, (_, i) => String(i)),
    );
  });
});

describe("browsers (HOOKD_CORS_ORIGINS)", () => {
  it("answers a preflight without a token and lets an allowed page read a stream and publish; other origins get no CORS headers", async () => {
    const { startTestHookd } = await import("./support/hookd.ts");
    const withCors = await startTestHookd(suite.nats.url, { HOOKD_CORS_ORIGINS: "https://app.example.com" });
    try {
      const preflight = await fetch(`${withCors.url}/sse/streams/cors`, {
        method: "OPTIONS",
        headers: {
          origin: "https://app.example.com",
          "access-control-request-method": "GET",
          "access-control-request-headers": "authorization,last-event-id",
        },
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
      expect(preflight.headers.get("access-control-allow-headers")).toContain("last-event-id");

      const stream = await fetch(`${withCors.url}/sse/streams/cors`, {
        headers: { origin: "https://app.example.com", authorization: `Bearer ${admin}` },
      });
      expect(stream.status).toBe(200);
      expect(stream.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
      await stream.body!.cancel();

      const published = await fetch(`${withCors.url}/pub/streams/cors`, {
        method: "POST",
        body: "x",
        headers: { origin: "https://app.example.com", authorization: `Bearer ${admin}` },
      });
      expect(published.status).toBe(202);
      expect(published.headers.get("access-control-allow-origin")).toBe("https://app.example.com");

      const other = await fetch(`${withCors.url}/sse/streams/cors`, {
        headers: { origin: "https://evil.example.com", authorization: `Bearer ${admin}` },
      });
      expect(other.headers.get("access-control-allow-origin")).toBeNull();
      await other.body!.cancel();
    } finally {
      await withCors.stop();
    }
    // Without the setting, no CORS headers at all.
    const plain = await fetch(`${suite.hookd.url}/pub/streams/cors`, {
      method: "POST",
      body: "x",
      headers: { origin: "https://app.example.com", authorization: `Bearer ${admin}` },
    });
    expect(plain.headers.get("access-control-allow-origin")).toBeNull();
  });
});
