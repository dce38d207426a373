import type { Page } from "playwright-core";
import { jetstream } from "@nats-io/jetstream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLayout } from "../src/nats/layout.ts";
import { adminToken, api, waitForState } from "./support/hookd.ts";
import { hookdSuite } from "./support/suite.ts";
import { signIn, startBrowser, type TestBrowser } from "./support/browser.ts";

/**
 * The console's delivery page in headless Chromium: the machine diagram follows the journal live,
 * the timeline shows the machine as it was, and retry works from the page.
 */

const suite = hookdSuite({ env: { HOOKD_RETRY_SCHEDULE: "2s,2s", HOOKD_TIMEOUT: "5s" }, connect: true });
let browser: TestBrowser;
let page: Page;

beforeAll(async () => {
  browser = await startBrowser();
  page = await browser.newPage();
  await signIn(page, suite.hookd.url, await adminToken());
});
afterAll(async () => {
  await browser?.close();
});

async function dispatch(url: string): Promise<string> {
  const response = await api(suite.hookd.url, "/dispatch", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ _url: url, hello: "console" }),
  });
  expect(response.status).toBe(202);
  return ((await response.json()) as { id: string }).id;
}

/** Every state the page's diagram showed as current, in order, recorded in the page itself. */
async function recordDiagramStates(): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { seen: string[]; marker: number };
    w.seen = [];
    w.marker = 42;
    const note = () => {
      const state = document.querySelector("#panel svg.machine")?.getAttribute("data-current-state");
      if (state && w.seen.at(-1) !== state) w.seen.push(state);
    };
    note();
    new MutationObserver(note).observe(document.body, { subtree: true, childList: true, attributes: true });
  });
}

const seenStates = () => page.evaluate(() => (window as unknown as { seen: string[] }).seen);

function isSubsequence(wanted: string[], seen: string[]): boolean {
  let i = 0;
  for (const state of seen) if (state === wanted[i]) i++;
  return i === wanted.length;
}

describe("the delivery page", () => {
  it("moves the diagram in-flight → backoff → … → delivered without a reload, counting down the backoff", async () => {
    suite.receiver.respond = (_request, index) => ({ status: index < 2 ? 500 : 200, body: "answer", delayMs: 1_500 });
    const id = await dispatch(`${suite.receiver.url}/fails-twice`);
    await page.goto(`${suite.hookd.url}/console/deliveries/${id}`);
    await recordDiagramStates();
    const countdown = await page.waitForSelector("[data-countdown]", { timeout: 30_000 });
    expect(await countdown.textContent()).toMatch(/^(in \d|due now)/);
    await page.waitForSelector('#panel svg.machine[data-current-state="delivered"]', { timeout: 40_000 });
    const seen = await seenStates();
    expect(isSubsequence(["in-flight", "backoff", "in-flight", "backoff", "in-flight", "delivered"], seen)).toBe(true);
    expect(seen[0]).not.toBe("delivered");
    // Still the same document: nothing reloaded the page.
    expect(await page.evaluate(() => (window as unknown as { marker: number }).marker)).toBe(42);
    expect(await page.locator("details.attempt").count()).toBe(3);
    expect(await page.locator("table.headers tr.signature").count()).toBeGreaterThan(0);
  });

  it("shows the machine as it was at a selected timeline entry", async () => {
    await page.click('li[data-entry="0"] .entry');
    await page.waitForSelector('#diagram svg.machine[data-current-state="pending"]');
    expect(await page.locator("#diagram .state.current").getAttribute("data-state")).toBe("pending");
    await page.click('li[data-entry="2"] .entry');
    await page.waitForSelector('#diagram svg.machine[data-current-state="backoff"]');
    expect(await page.locator("#diagram .edge.taken").getAttribute("data-to")).toBe("backoff");
    await page.click("#diagram .caption button");
    await page.waitForSelector('#diagram svg.machine[data-current-state="delivered"]');
  });

  it("retries a failed delivery from the page and shows it delivered", async () => {
    suite.receiver.respond = () => ({ status: 410, body: "gone" });
    const id = await dispatch(`${suite.receiver.url}/gone-then-back`);
    await waitForState(suite.hookd.url, id, "failed");
    await page.goto(`${suite.hookd.url}/console/deliveries/${id}`);
    await page.waitForSelector('#panel svg.machine[data-current-state="failed"]');
    suite.receiver.respond = () => ({ status: 200, body: "back" });
    await page.click("text=Retry");
    await page.waitForSelector('#panel svg.machine[data-current-state="delivered"]', { timeout: 30_000 });
    expect((await waitForState(suite.hookd.url, id, "delivered")).attempts.length).toBe(2);
  });

  it("says in words, in place of the live panel and on the page, when the journal holds what it cannot read", async () => {
    suite.receiver.respond = () => ({ status: 200 });
    const id = await dispatch(`${suite.receiver.url}/then-damaged`);
    await waitForState(suite.hookd.url, id, "delivered");
    await page.goto(`${suite.hookd.url}/console/deliveries/${id}`);
    await page.waitForSelector('#panel svg.machine[data-current-state="delivered"]');
    await jetstream(suite.nc).publish(createLayout().subjects.deliveryTransitions(id), '{"steps": [');
    const inPlace = await page.waitForSelector("#live p.error", { timeout: 10_000 });
    expect(await inPlace.textContent()).toMatch(/cannot read journal message #\d+ .*newer hookd/);
    const reloaded = await page.goto(`${suite.hookd.url}/console/deliveries/${id}`);
    expect(reloaded?.status()).toBe(500);
    expect(await page.title()).toMatch(/Could not be shown/);
    expect(await page.locator("p.error").textContent()).toMatch(/upgrade this instance/);
  });
});
