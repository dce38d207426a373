import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminToken, api, eventually } from "./support/hookd.ts";
import { hookdSuite } from "./support/suite.ts";
import { signIn, startBrowser, type TestBrowser } from "./support/browser.ts";

/** The console's other pages in headless Chromium: the deliveries list live, a subscription deactivated, a topic tailed. */

const suite = hookdSuite();
let browser: TestBrowser;
let page: Page;

beforeAll(async () => {
  browser = await startBrowser({ width: 360 });
  page = await browser.newPage();
  await signIn(page, suite.hookd.url, await adminToken());
});
afterAll(async () => {
  await browser?.close();
});

async function subscribe(topic: string): Promise<string> {
  const response = await api(suite.hookd.url, "/api/v1/subscriptions", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ topic, url: `${suite.receiver.url}/${topic}` }),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

async function publish(topic: string, body: string): Promise<string> {
  const response = await api(suite.hookd.url, `/pub/${topic}`, { method: "POST", body });
  expect(response.status).toBeLessThan(300);
  return ((await response.json()) as { id: string }).id;
}

describe("the console's pages", () => {
  it("lists deliveries with counts per state, and shows a new one without a reload", async () => {
    await page.goto(`${suite.hookd.url}/console/deliveries`);
    const before = Number(await page.textContent('[data-count="delivered"]'));
    const id = await subscribe("orders");
    await publish("orders", '{"order":1}');
    const row = await page.waitForSelector(`tr[data-delivery] a:text-matches("dlv_")`, { timeout: 20_000 });
    expect(await row.textContent()).toMatch(/^dlv_/);
    await eventually(
      async () => Number(await page.textContent('[data-count="delivered"]')) > before,
      20_000,
      "the count",
    );
    await page.goto(`${suite.hookd.url}/console/deliveries?subscription=${id}&state=delivered`);
    expect(await page.locator("tr[data-delivery]").count()).toBe(1);
    // From the delivery to the event it sends, and back to the deliveries that event made.
    await page.click("tr[data-delivery] td.id a");
    await page.click("text=evt_");
    expect(await page.textContent("pre")).toBe('{"order":1}');
    expect(await page.locator(`a[href="/console/subscriptions/${id}"]`).count()).toBe(1);
    await page.goto(`${suite.hookd.url}/console/deliveries?subscription=sub_00000000000000000000000000`);
    expect(await page.locator("tr[data-delivery]").count()).toBe(0);
  });

  it("deactivates a subscription, saying why", async () => {
    const id = await subscribe("invoices");
    await page.goto(`${suite.hookd.url}/console/subscriptions/${id}`);
    expect(await page.getAttribute("#subscription", "data-state")).toBe("active");
    await page.click("text=Deactivate");
    await page.waitForSelector('#subscription[data-state="paused"]');
    expect(await page.textContent("#subscription")).toContain("deactivated in the console");
    expect(await page.getAttribute("svg.machine .state.current", "data-state")).toBe("paused");
    const response = await api(suite.hookd.url, `/api/v1/subscriptions/${id}`);
    expect(((await response.json()) as { state: string }).state).toBe("paused");
  });

  it("shows an ordered subscription's head of the line and how many wait behind it", async () => {
    const failing = await suite.startReceiver(() => ({ status: 500 }));
    const response = await api(suite.hookd.url, "/api/v1/subscriptions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      // One attempt in an hour after the first: the head stays in backoff, the rest wait.
      body: JSON.stringify({ topic: "ledger", url: `${failing.url}/in`, ordered: true, retry_schedule: "1h" }),
    });
    expect(response.status).toBe(201);
    const id = ((await response.json()) as { id: string }).id;
    for (let i = 1; i <= 3; i++) await publish("ledger", `{"n":${i}}`);
    await failing.waitFor(1);
    const line = await eventually(
      async () => {
        await page.goto(`${suite.hookd.url}/console/subscriptions/${id}`);
        const state = await page.getAttribute("#ordered-line .badge", "data-badge-state");
        return state === "backoff" ? page : undefined;
      },
      20_000,
      "the head in backoff on the page",
    );
    expect(await line.getAttribute("#ordered-line", "data-waiting")).toBe("2");
    expect(await line.textContent("#ordered-line")).toContain("2 waiting behind it");
  });

  it("rotates a subscription's secret and shows the new one once", async () => {
    const id = await subscribe("receipts");
    await page.goto(`${suite.hookd.url}/console/subscriptions/${id}`);
    await page.click("text=Rotate secret");
    expect(await (await page.waitForSelector("#new-secret")).textContent()).toMatch(/^whsec_/);
    await page.reload();
    expect(await page.locator("#new-secret").count()).toBe(0);
  });

  it("replays a time window of a subscription, following its progress to the end", async () => {
    const id = await subscribe("refunds");
    for (let i = 0; i < 3; i++) await publish("refunds", `{"refund":${i}}`);
    await page.goto(`${suite.hookd.url}/console/subscriptions/${id}`);
    const hourAgo = new Date(Date.now() - 3_600_000).toISOString().slice(0, 16);
    await page.fill('input[name="since"]', hourAgo);
    await page.click('button:text-is("Replay")');
    const done = await page.waitForSelector('#replay-progress[data-replay-state="finished"]', { timeout: 30_000 });
    expect(await done.textContent()).toContain("3 events, 3 new deliveries");
  });

  it("tails a topic and shows a published event as it arrives", async () => {
    await page.goto(`${suite.hookd.url}/console/topics?topic=${encodeURIComponent("news/today")}`);
    // The tail is open once the API's stream answered: wait for the browser's EventSource to be connected.
    await page.waitForFunction(() => document.querySelector("#tail") !== null);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const eventId = await publish("news/today", "<b>hello</b> from the tail");
    const line = await page.waitForSelector(`#tail li[data-event-id="${eventId}"]`, { timeout: 20_000 });
    // The body is shown as text: a topic's body is anyone's, never markup.
    expect(await line.textContent()).toContain("<b>hello</b> from the tail");
    expect(await page.locator("#tail b").count()).toBe(0);
  });
});
