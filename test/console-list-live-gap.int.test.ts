import { beforeAll, describe, expect, it } from "vitest";
import { adminToken, api, waitForListed, waitForState } from "./support/hookd.ts";
import { hookdSuite } from "./support/suite.ts";

/**
 * A list page is rendered from the index, then its browser opens the live stream the page names. A
 * change that the index records in between (the page's scripts load, htmx starts) must reach the page:
 * the delivery page names the journal entry it was drawn from (`after=`), so its stream starts there;
 * the list page's stream starts "from now on", so such a change is never sent, and on a quiet filter
 * the page shows the old state until something else changes.
 */

const suite = hookdSuite({ env: { HOOKD_RETRY_SCHEDULE: "10m" }, respond: () => ({ status: 500 }) });
let cookie = "";

const consoleFetch = (path: string, init: RequestInit = {}) =>
  fetch(suite.hookd.url + path, { ...init, headers: { ...init.headers as object, cookie }, redirect: "manual" });

beforeAll(async () => {
  const signedIn = await fetch(`${suite.hookd.url}/console/sign-in`, {
    method: "POST",
    body: new URLSearchParams({ token: await adminToken() }),
    redirect: "manual",
  });
  cookie = signedIn.headers.get("set-cookie")!.split(";")[0]!;
});

/** The result frames the stream at `path` sends within `ms`. */
async function framesWithin(path: string, ms: number): Promise<string[]> {
  const aborter = new AbortController();
  const response = await consoleFetch(path, { signal: aborter.signal });
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const reading = (async () => {
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) return;
      text += value;
    }
  })();
  await new Promise((resolve) => setTimeout(resolve, ms));
  aborter.abort();
  await reading;
  return text.split("\n\n").filter((frame) => frame.includes("event: results\n"));
}

describe("a list page's live stream", () => {
  it("sends a change the index recorded between drawing the page and opening its stream", async () => {
    const created = await api(suite.hookd.url, "/dispatch", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ _url: `${suite.receiver.url}/gap`, n: 1 }),
    });
    const { id } = (await created.json()) as { id: string };
    await waitForState(suite.hookd.url, id, "backoff");
    const host = new URL(suite.receiver.url).host;
    await waitForListed(suite.hookd.url, `host=${host}&state=backoff`, [id]);

    const page = await (await consoleFetch(`/console/deliveries?host=${encodeURIComponent(host)}`)).text();
    expect(page).toContain(`data-delivery="${id}"`);
    const live = page.match(/sse-connect="([^"]+)"/)![1]!.replaceAll("&amp;", "&");

    // The delivery changes after the page was drawn, before the browser opens the stream.
    const cancelled = await api(suite.hookd.url, `/api/v1/deliveries/${id}/cancel`, { method: "POST" });
    expect(cancelled.status).toBe(200);
    await waitForListed(suite.hookd.url, `host=${host}&state=cancelled`, [id]);

    const frames = await framesWithin(live, 3_000);
    expect(frames.at(-1) ?? "no frame").toMatch(new RegExp(`data-delivery="${id}"[\\s\\S]*?cancelled`));
  });
});
