// deno-lint-ignore-file no-explicit-any -- tests read hookd's JSON answers field by field
import { connect } from "node:net";
import { describe, expect, it } from "vitest";
import type { DeliveryChange } from "../src/domain/delivery-changes.ts";
import type { StreamEnd } from "../src/domain/stream-frames.ts";
import { adminToken, api, eventually, startTestHookd, waitForState } from "./support/hookd.ts";
import type { Receiver } from "./support/receiver.ts";
import { openSse, type SseClient } from "./support/stream-clients.ts";
import { hookdSuite } from "./support/suite.ts";

/**
 * The console's services over a real nats-server: the journal's change feed (live, resumed, a slow
 * listener), the fleet figures, and bulk actions (retry, cancel, dry run, stopping a job).
 */

const suite = hookdSuite({
  receiver: false,
  env: { HOOKD_STREAM_HEARTBEAT: "200ms", HOOKD_STREAM_MAX_PER_TOKEN: "3" },
});

async function create(url: string, headers: Record<string, string> = {}): Promise<string> {
  const response = await api(suite.hookd.url, "/api/v1/deliveries", {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ url, body: { n: 1 } }),
  });
  expect(response.status).toBe(202);
  return ((await response.json()) as { id: string }).id;
}

async function changes(path: string, lastEventId?: string): Promise<SseClient> {
  const client = openSse(`${suite.hookd.url}${path}`, await adminToken(), {
    names: ["delivery.change"],
    ...(lastEventId ? { lastEventId } : {}),
  });
  await client.opened;
  return client;
}

/** Sends `text` on a socket of its own and reads what comes back until `done` holds (or 5 s pass). */
function readUntil(baseUrl: string, text: string, done: (read: string) => boolean): Promise<string> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) }, () => socket.write(text));
    let read = "";
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(read);
    };
    const timer = setTimeout(finish, 5_000);
    socket.on("data", (chunk: Buffer) => {
      read += chunk.toString("latin1");
      if (done(read)) finish();
    });
    socket.once("error", reject);
  });
}

const parsed = (client: SseClient) => client.events.map((event) => ({ ...JSON.parse(event.data), id: event.id }));
const hostOf = (receiver: Receiver) => `127.0.0.1:${receiver.port}`;

/** Answers 500 until `heal()`, then 200. */
function failingReceiver() {
  let healed = false;
  return { respond: () => ({ status: healed ? 200 : 500 }), heal: () => (healed = true) };
}

describe("the change feed", () => {
  it("streams a delivery's transitions live, with hosts, and resumes after Last-Event-ID without a gap", async () => {
    const receiver = await suite.startReceiver((_request, index) => ({ status: index < 2 ? 503 : 200 }));
    const client = await changes(`/api/v1/deliveries/changes`);
    const id = await create(`${receiver.url}/hook`);
    await waitForState(suite.hookd.url, id, "delivered");
    const mine = () => parsed(client).filter((change) => change.delivery_id === id);
    await eventually(async () => mine().at(-1)?.to === "delivered", 10_000, "the delivered change");
    client.close();
    const seen = mine();
    expect(seen.map((change) => `${change.from}>${change.to}`)).toEqual([
      "null>pending",
      "pending>in-flight",
      "in-flight>backoff",
      "backoff>in-flight",
      "in-flight>backoff",
      "backoff>in-flight",
      "in-flight>delivered",
    ]);
    expect(seen.map((change) => change.event)).toContain("attempt.failed");
    expect(new Set(seen.map((change) => change.target_host))).toEqual(new Set([hostOf(receiver)]));
    expect(seen.at(-1)).toMatchObject({ event: "attempt.succeeded", status: 200 });

    // Resume from the third change, filtered to this delivery: the rest comes again, in order, nothing missing.
    const third = seen[2]!;
    const resumed = await changes(`/api/v1/deliveries/changes?delivery_id=${id}`, String(third.seq));
    await resumed.waitFor(seen.length - 3);
    resumed.close();
    expect(parsed(resumed).map((change) => `${change.from}>${change.to}`)).toEqual(
      seen.slice(3).map((change) => `${change.from}>${change.to}`),
    );
  });

  it("ends a listener that does not read, while another one keeps getting every change", async () => {
    const receiver = await suite.startReceiver();
    const fast = await changes(`/api/v1/deliveries/changes?target_host=${hostOf(receiver)}`);
    const ended: StreamEnd[] = [];
    const stuck: DeliveryChange[] = [];
    // In process, as the console reads: an output whose client never takes a byte.
    const listener = await suite.hookd.hookd.consoleServices.openChanges({ filter: {}, after: null }, {
      send: (batch: readonly DeliveryChange[]) => stuck.push(...batch),
      buffered: () => stuck.length * 100_000,
      heartbeat: () => undefined,
      end: (end: StreamEnd) => ended.push(end),
    });
    await listener.catchUp();
    const ids = await Promise.all(Array.from({ length: 20 }, () => create(receiver.url)));
    await eventually(async () => ended.length > 0, 10_000, "the stuck listener to be ended");
    expect(ended[0]!.reason).toBe("slow-consumer");
    await eventually(
      async () =>
        ids.every((id) => parsed(fast).some((change) => change.delivery_id === id && change.to === "delivered")),
      20_000,
      "the reading listener to see every delivery delivered",
    );
    fast.close();
  });
});

describe("fleet figures", () => {
  it("counts states, transitions and per-host success and latency, the same on a fresh instance", async () => {
    const good = await suite.startReceiver();
    const bad = await suite.startReceiver(() => ({ status: 500 }));
    // The first request starts reading the window back and answers at once; the figures say when it is whole.
    const complete = (url: string) =>
      eventually(
        async () => {
          const figures = await (await api(url, "/api/v1/fleet")).json() as any;
          return figures.window_complete === true ? figures : undefined;
        },
        10_000,
        "the fleet window read back",
      );
    const before = await complete(suite.hookd.url);
    const delivered = await Promise.all(Array.from({ length: 6 }, () => create(good.url)));
    const failed = await Promise.all(Array.from({ length: 3 }, () => create(bad.url)));
    for (const id of delivered) await waitForState(suite.hookd.url, id, "delivered");
    for (const id of failed) await waitForState(suite.hookd.url, id, "failed");
    // Four attempts per failed delivery (HOOKD_RETRY_SCHEDULE has three delays).
    const expectHosts = (fleet: any) => {
      const host = (receiver: Receiver) => fleet.hosts.find((h: any) => h.host === hostOf(receiver));
      expect(host(good)).toMatchObject({ attempts: 6, succeeded: 6, failed: 0, success_rate: 1 });
      expect(host(good).p50_ms).toBeGreaterThan(0);
      expect(host(bad)).toMatchObject({ attempts: 12, succeeded: 0, failed: 12, success_rate: 0 });
      expect(host(bad).minutes.reduce((sum: number, m: any) => sum + m.attempts, 0)).toBe(12);
    };
    const fleet = await eventually(
      async () => {
        const now = await (await api(suite.hookd.url, "/api/v1/fleet")).json() as any;
        return now.hosts.some((h: any) => h.host === hostOf(bad) && h.attempts === 12) ? now : undefined;
      },
      10_000,
      "the bad host's twelve attempts",
    );
    expectHosts(fleet);
    const grew = (state: string) => (fleet.entered[state] ?? 0) - (before.entered[state] ?? 0);
    expect(grew("delivered")).toBe(6);
    expect(grew("failed")).toBe(3);
    const count = (figures: any, from: string, event: string, to: string) =>
      figures.transitions.find((t: any) => t.from === from && t.event === event && t.to === to)?.count ?? 0;
    const grewBy = (from: string, event: string, to: string) =>
      count(fleet, from, event, to) - count(before, from, event, to);
    expect(grewBy("in-flight", "attempt.failed", "backoff")).toBe(9);
    expect(grewBy("backoff", "attempt.started", "in-flight")).toBe(9);
    expect(grewBy("in-flight", "attempt.failed", "failed")).toBe(3);
    expect(fleet.states.delivered - (before.states.delivered ?? 0)).toBe(6);
    expect(fleet.states.failed - (before.states.failed ?? 0)).toBe(3);

    // A new instance reads the window back from the journal: the same hosts' figures.
    const fresh = await startTestHookd(suite.nats.url, { HOOKD_WORKERS: "off" });
    try {
      const first = await (await api(fresh.url, "/api/v1/fleet")).json() as any;
      expect(typeof first.window_complete).toBe("boolean");
      expectHosts(await complete(fresh.url));
    } finally {
      await fresh.stop();
    }
  });
});

describe("bulk actions", () => {
  it("counts 50 failed deliveries, retries them all in a job, and they get delivered", async () => {
    const failing = failingReceiver();
    const receiver = await suite.startReceiver(failing.respond);
    const ids = await Promise.all(Array.from({ length: 50 }, () => create(receiver.url)));
    for (const id of ids) await waitForState(suite.hookd.url, id, "failed", 30_000);
    const filter = { state: "failed", target_host: hostOf(receiver) };
    const dry = await api(suite.hookd.url, "/api/v1/deliveries/bulk", {
      method: "POST",
      body: JSON.stringify({ action: "retry", filter, dry_run: true }),
    });
    expect(await dry.json()).toEqual({ dry_run: true, action: "retry", count: 50, truncated: false });
    failing.heal();
    const started = await api(suite.hookd.url, "/api/v1/deliveries/bulk", {
      method: "POST",
      body: JSON.stringify({ action: "retry", filter }),
    });
    expect(started.status).toBe(202);
    const job = await started.json() as any;
    expect(started.headers.get("location")).toBe(`/api/v1/bulk/${job.id}`);
    expect(job).toMatchObject({ action: "retry", total: 50, state: "running" });
    const progress = openSse(`${suite.hookd.url}/api/v1/bulk/${job.id}/events`, await adminToken(), {
      names: ["bulk-job"],
    });
    const done = await eventually(
      async () => {
        const now = await (await api(suite.hookd.url, `/api/v1/bulk/${job.id}`)).json() as any;
        return now.state === "done" ? now : undefined;
      },
      20_000,
      "the job to finish",
    );
    expect(done).toMatchObject({ total: 50, done: 50, failed: 0, errors: [] });
    for (const id of ids) await waitForState(suite.hookd.url, id, "delivered");
    const last = await eventually(
      async () => {
        const event = progress.events.at(-1);
        return event && JSON.parse(event.data).state === "done" ? JSON.parse(event.data) : undefined;
      },
      10_000,
      "the job's last progress event",
    );
    progress.close();
    expect(last.done).toBe(50);
  });

  it("refuses bad input with problem+json", async () => {
    const post = (body: unknown) =>
      api(suite.hookd.url, "/api/v1/deliveries/bulk", { method: "POST", body: JSON.stringify(body) });
    for (
      const body of [
        { action: "explode", filter: { state: "failed" } },
        { action: "retry", filter: {} },
        { action: "retry", filter: { state: "lost" } },
        { action: "retry", filter: { color: "red" } },
        { action: "retry", filter: { created_after: "yesterday" } },
        { action: "retry" },
      ]
    ) {
      const response = await post(body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.headers.get("content-type")).toContain("application/problem+json");
    }
    const notJson = await api(suite.hookd.url, "/api/v1/deliveries/bulk", { method: "POST", body: "retry all" });
    expect(notJson.status).toBe(400);
    for (const path of ["/api/v1/bulk/nope", "/api/v1/bulk/bulk_*", "/api/v1/bulk/bulk_01J9Z3QK8Y2M4N6P8R0T2V4X6Z"]) {
      const response = await api(suite.hookd.url, path);
      expect(response.status, path).toBe(404);
      expect((await response.json() as any).type).toBe("urn:hookd:problem:bulk-job-not-found");
    }
    const badId = await api(suite.hookd.url, "/api/v1/deliveries/changes", { headers: { "last-event-id": "abc" } });
    expect(badId.status).toBe(400);
    const badParam = await api(suite.hookd.url, "/api/v1/deliveries/changes?colour=red");
    expect(badParam.status).toBe(400);
    expect((await badParam.json() as any).errors[0].field).toBe("colour");
    const noToken = await fetch(`${suite.hookd.url}/api/v1/fleet`);
    expect(noToken.status).toBe(401);
  });

  it("HEAD on each stream answers its headers and opens no stream: the connection's next request is answered", async () => {
    const started = await api(suite.hookd.url, "/api/v1/deliveries/bulk", {
      method: "POST",
      body: JSON.stringify({ action: "cancel", filter: { target_host: "127.0.0.1:9" } }),
    });
    const job = (await started.json()) as { id: string };
    const auth = `authorization: Bearer ${await adminToken()}\r\nhost: x\r\n`;
    for (const path of ["/api/v1/fleet/stream", `/api/v1/bulk/${job.id}/events`, "/api/v1/deliveries/changes"]) {
      const read = await readUntil(
        suite.hookd.url,
        `HEAD ${path} HTTP/1.1\r\n${auth}\r\nGET /healthz HTTP/1.1\r\n${auth}\r\n`,
        (text) => text.includes('"status":"ok"'),
      );
      const [head, next] = read.split(/(?=HTTP\/1\.1 )/);
      expect(head, path).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*content-type: text\/event-stream/i);
      expect(next, path).toMatch(/^HTTP\/1\.1 200 OK[\s\S]*"status":"ok"/);
    }
  });

  it("holds a token to HOOKD_STREAM_MAX_PER_TOKEN change streams, and gives the slot back when one closes", async () => {
    const open = () => api(suite.hookd.url, "/api/v1/deliveries/changes");
    const held = [await open(), await open(), await open()];
    expect(held.map((response) => response.status)).toEqual([200, 200, 200]);
    const refused = await open();
    expect(refused.status).toBe(429);
    expect((await refused.json() as any).limit).toBe(3);
    await held[0]!.body!.cancel();
    const again = await eventually(
      async () => {
        const response = await open();
        if (response.status === 200) return response;
        await response.body?.cancel();
      },
      10_000,
      "a slot to come back",
    );
    for (const response of [again, ...held.slice(1)]) await response.body!.cancel();
  });
});

describe("bulk cancel, on an instance without workers (deliveries stay pending)", () => {
  const quiet = hookdSuite({ receiver: false, env: { HOOKD_WORKERS: "off" } });
  const post = (body: unknown) =>
    api(quiet.hookd.url, "/api/v1/deliveries/bulk", { method: "POST", body: JSON.stringify(body) });
  const createPending = async (host: string, count: number) => {
    const ids = await Promise.all(Array.from({ length: count }, async (_, i) => {
      // A keyed create is journaled at once (no ingest batch waiting for a worker to expand it).
      const response = await api(quiet.hookd.url, "/api/v1/deliveries", {
        method: "POST",
        headers: { "content-type": "application/json", "idempotency-key": `${host}-${i}` },
        body: JSON.stringify({ url: `http://${host}/hook` }),
      });
      return ((await response.json()) as { id: string }).id;
    }));
    // Filters are resolved on the delivery list's index, which trails the journal by a moment.
    await eventually(
      async () => {
        const filter = { state: "pending", target_host: host };
        const now = await (await post({ action: "cancel", filter, dry_run: true })).json() as { count: number };
        return now.count === count;
      },
      20_000,
      "the index to list them",
    );
    return ids;
  };

  it("cancels every delivery a filter matches", async () => {
    const ids = await createPending("127.0.0.1:9", 30);
    const filter = { state: "pending", target_host: "127.0.0.1:9" };
    expect(await (await post({ action: "cancel", filter, dry_run: true })).json()).toMatchObject({ count: 30 });
    const job = await (await post({ action: "cancel", filter })).json() as any;
    const done = await eventually(
      async () => {
        const now = await (await api(quiet.hookd.url, `/api/v1/bulk/${job.id}`)).json() as any;
        return now.state === "done" ? now : undefined;
      },
      20_000,
      "the cancel job to finish",
    );
    expect(done).toMatchObject({ total: 30, done: 30, failed: 0 });
    for (const id of ids) await waitForState(quiet.hookd.url, id, "cancelled");
  });

  it("stops a running job when asked, leaving the rest untouched", async () => {
    await createPending("127.0.0.1:7", 400);
    const filter = { state: "pending", target_host: "127.0.0.1:7" };
    const job = await (await post({ action: "cancel", filter })).json() as any;
    const cancelled = await api(quiet.hookd.url, `/api/v1/bulk/${job.id}`, { method: "DELETE" });
    expect(cancelled.status).toBe(200);
    expect((await cancelled.json() as any).cancel_requested).toBe(true);
    const stopped = await eventually(
      async () => {
        const now = await (await api(quiet.hookd.url, `/api/v1/bulk/${job.id}`)).json() as any;
        return now.state !== "running" ? now : undefined;
      },
      20_000,
      "the job to stop",
    );
    expect(stopped.state).toBe("cancelled");
    expect(stopped.done).toBeLessThan(400);
    // The index shows the cancels a moment later; the count then settles on what the job left.
    const left = await eventually(
      async () => {
        const now = await (await post({ action: "cancel", filter, dry_run: true })).json() as any;
        return now.count === 400 - stopped.done ? now : undefined;
      },
      20_000,
      "the count of what the job left",
    );
    expect(left.count).toBe(400 - stopped.done);
  });
});
