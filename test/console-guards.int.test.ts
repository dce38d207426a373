import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { DeliverySecrets } from "../src/domain/delivery-secrets.ts";
import { SecretBox } from "../src/domain/secret-box.ts";
import { DeliveryStore } from "../src/nats/delivery-store.ts";
import { JetStreamPublisher } from "../src/nats/jetstream-publisher.ts";
import { createLayout } from "../src/nats/layout.ts";
import { DeliveryCommands, DeliveryNotFoundError } from "../src/runtime/delivery-commands.ts";
import { beforeAll, describe, expect, it } from "vitest";
import { adminToken, api, eventually, metricOf, TEST_KEY, waitForListed, waitForState } from "./support/hookd.ts";
import { hookdSuite } from "./support/suite.ts";
import { csrfTokenOf } from "../src/console/session.ts";

/**
 * What the console refuses or keeps consistent over plain HTTP: ids that are no delivery id (a wildcard
 * must never reach a subject), and a bulk action that acts on exactly what the list shows.
 */

const suite = hookdSuite({ env: { HOOKD_RETRY_SCHEDULE: "10m" }, respond: () => ({ status: 500 }), connect: true });
let cookie = "";
let csrf = "";
const ids: string[] = [];

const consoleFetch = (path: string, init: RequestInit = {}) =>
  fetch(suite.hookd.url + path, { ...init, headers: { ...init.headers as object, cookie }, redirect: "manual" });

beforeAll(async () => {
  const token = await adminToken();
  const signedIn = await fetch(`${suite.hookd.url}/console/sign-in`, {
    method: "POST",
    body: new URLSearchParams({ token }),
    redirect: "manual",
  });
  cookie = signedIn.headers.get("set-cookie")!.split(";")[0]!;
  csrf = await csrfTokenOf(token);
  for (let i = 0; i < 3; i++) {
    const response = await api(suite.hookd.url, "/dispatch", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ _url: `${suite.receiver.url}/t${i}`, n: i }),
    });
    ids.push(((await response.json()) as { id: string }).id);
  }
  for (const id of ids) await waitForState(suite.hookd.url, id, "backoff");
  await waitForListed(suite.hookd.url, "", ids);
}, 60_000);

describe("the console's per-delivery routes", () => {
  it("answer 404 for a wildcard or any non-id, and acting on one journals nothing", async () => {
    for (const id of ["*", "%3E", "a.b", "dlv_nope"]) {
      for (const tail of ["", "/diagram", "/live"]) {
        expect((await consoleFetch(`/console/deliveries/${id}${tail}`)).status, `${id}${tail}`).toBe(404);
      }
      for (const act of ["retry", "cancel"]) {
        const response = await consoleFetch(`/console/deliveries/${id}/${act}`, {
          method: "POST",
          headers: { "x-console-csrf": csrf },
        });
        expect(response.status, `${id}/${act}`).toBe(404);
      }
    }
    const jsm = await jetstreamManager(suite.nc);
    const info = await jsm.streams.info("HOOKD_JOURNAL", { subjects_filter: ">" });
    expect(Object.keys(info.state.subjects ?? {}).filter((subject) => /[*>]/.test(subject))).toEqual([]);
    const listed = (await (await api(suite.hookd.url, "/api/v1/deliveries")).json()) as { data: { id: string }[] };
    expect(listed.data.map((d) => d.id).sort()).toEqual([...ids].sort());
  });
});

const bulkCount = async (query: string) => {
  const text = await (await consoleFetch(`/console/bulk?${query}`)).text();
  return text.match(/id="bulk-count">(\d+)/)?.[1];
};
const listed = async (query: string) => {
  const text = await (await consoleFetch(`/console/deliveries?${query}`)).text();
  return ids.filter((id) => text.includes(`data-delivery="${id}"`)).length;
};

describe("DeliveryCommands on the journal hookd uses", () => {
  it("refuses a wildcard id as no delivery before it names a subject", async () => {
    const jsm = await jetstreamManager(suite.nc);
    const commands = new DeliveryCommands({
      store: new DeliveryStore(
        jetstream(suite.nc),
        jsm,
        new JetStreamPublisher(suite.nc),
        createLayout({ replicas: 1 }),
      ),
      secrets: new DeliverySecrets(await SecretBox.fromKeys(TEST_KEY)),
      clock: Date.now,
      randomBytes: (length) => crypto.getRandomValues(new Uint8Array(length)),
      schedule: [60_000],
    });
    for (const id of ["*", ">", "dlv_*", `${ids[0]}.>`]) {
      await expect(commands.cancel(id), id).rejects.toBeInstanceOf(DeliveryNotFoundError);
      await expect(commands.retry(id), id).rejects.toBeInstanceOf(DeliveryNotFoundError);
    }
    const info = await jsm.streams.info("HOOKD_JOURNAL", { subjects_filter: ">" });
    expect(Object.keys(info.state.subjects ?? {}).filter((subject) => /[*>]/.test(subject))).toEqual([]);
  });
});

describe("the console's bulk page", () => {
  it("refuses a search rather than acting on everything else the filter matches", async () => {
    const response = await consoleFetch(`/console/bulk?q=${ids[0]}`);
    expect(response.status).toBe(400);
    const text = await response.text();
    expect(text).toContain("A search is not a bulk filter");
    expect(text).not.toContain('id="bulk-count"');
    const started = await consoleFetch(`/console/bulk/cancel?q=${ids[0]}`, {
      method: "POST",
      headers: { "x-console-csrf": csrf },
    });
    expect(started.status).toBe(400);
  });

  it("refuses a filter field it cannot read, and an empty filter, rather than acting on every delivery", async () => {
    for (const query of ["state=faild", "since=yesterday", ""]) {
      const page = await consoleFetch(`/console/bulk?${query}`);
      expect(page.status, query).toBe(400);
      expect(await page.text(), query).not.toContain('id="bulk-count"');
      const started = await consoleFetch(`/console/bulk/cancel?${query}`, {
        method: "POST",
        headers: { "x-console-csrf": csrf },
      });
      expect(started.status, query).toBe(400);
    }
    for (const id of ids) {
      const state =
        ((await (await api(suite.hookd.url, `/api/v1/deliveries/${id}`)).json()) as { state: string }).state;
      expect(state).not.toBe("cancelled");
    }
  });

  it("matches the host as the list does: host[:port] exactly, no port meaning the scheme's default", async () => {
    const url = new URL(suite.receiver.url);
    expect(await listed(`host=${url.hostname}`)).toBe(0);
    expect(await bulkCount(`host=${url.hostname}`)).toBe("0");
    expect(await listed(`host=${url.host}`)).toBe(3);
    expect(await bulkCount(`host=${url.host}`)).toBe("3");
  });

  it("reads since as the list does: the last state change, not creation", async () => {
    const since = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const cancelled = await api(suite.hookd.url, `/api/v1/deliveries/${ids[2]}/cancel`, { method: "POST" });
    expect(cancelled.status).toBe(200);
    await eventually(async () => (await listed(`since=${since}`)) === 1, 20_000, "the cancel to be listed");
    expect(await bulkCount(`since=${since}`)).toBe("1");
  });
});

/**
 * The result frames a list page's live stream sent while `during` ran and after, until `until` says
 * enough (or 20 s: the indexer may lag a busy machine) or, with no `until`, until `stopAt` resolves.
 */
async function liveChanges(
  query: string,
  options: { during?: () => Promise<void>; until?: (frames: string[]) => boolean; stopAt?: Promise<unknown> },
): Promise<string[]> {
  const aborter = new AbortController();
  const response = await consoleFetch(`/console/deliveries/live?${query}`, { signal: aborter.signal });
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const frames = () => text.split("\n\n").filter((frame) => frame.includes("event: results\n"));
  const reading = (async () => {
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) return;
      text += value;
    }
  })();
  await options.during?.();
  if (options.until) {
    const until = options.until;
    await eventually(async () => (until(frames()) ? true : undefined), 20_000, "the frame").catch(() => undefined);
  } else await options.stopAt;
  aborter.abort();
  await reading;
  return frames();
}

describe("the list's live stream", () => {
  it("sends a page its results again, rendered, only for changes to its host", async () => {
    const host = new URL(suite.receiver.url).host;
    const row = new RegExp(`data-delivery="${ids[1]}"[\\s\\S]*?cancelled`);
    let done: () => void = () => {};
    const finished = new Promise<void>((resolve) => (done = resolve));
    let other: Promise<string[]> = Promise.resolve([]);
    const mine = await liveChanges(`host=${host}`, {
      during: async () => {
        other = liveChanges("host=other.example", { stopAt: finished });
        await new Promise((resolve) => setTimeout(resolve, 300));
        const cancelled = await api(suite.hookd.url, `/api/v1/deliveries/${ids[1]}/cancel`, { method: "POST" });
        expect(cancelled.status).toBe(200);
      },
      until: (frames) => row.test(frames.at(-1) ?? ""),
    });
    done();
    expect(mine.at(-1) ?? "no frame").toMatch(row);
    // The other host's page heard nothing in all that time.
    expect(await other).toEqual([]);
  });
});

describe("the topic tail", () => {
  const tail = async (topic: string, since = "") => {
    const response = await consoleFetch(
      `/console/topics/tail?topic=${encodeURIComponent(topic)}${since ? `&since=${since}` : ""}`,
    );
    return { status: response.status, text: await response.text() };
  };
  it("ends a refused tail with an end event the page closes on, instead of a stream the browser reopens", async () => {
    const refused = await tail("orders", "not-a-sequence");
    expect(refused.text).toMatch(/The stream ended: 4\d\d/);
    expect(refused.text).toMatch(/event: end\n/);
  });
  it("HEAD opens no stream: the streams a token holds do not grow with each one", async () => {
    const open = () => metricOf(suite.hookd.url, "hookd_streams_open");
    const before = await open();
    expect(before).toBeGreaterThanOrEqual(0);
    for (let i = 0; i < 3; i++) {
      const head = await consoleFetch("/console/topics/tail?topic=orders", { method: "HEAD" });
      expect(head.status).toBe(200);
      expect(head.headers.get("content-type")).toBe("text/event-stream");
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await open()).toBe(before);
  });
  it("refuses . and .. segments, which would climb out of /sse/", async () => {
    for (const topic of ["a/../../api/v1/deliveries", "..", "a/./b"]) {
      const refused = await tail(topic);
      expect(refused.text, topic).toContain("has no . or .. segment");
      expect(refused.text, topic).toMatch(/event: end\n/);
    }
  });
});
