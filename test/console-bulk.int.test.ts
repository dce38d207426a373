import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminToken, api, eventually, waitForState } from "./support/hookd.ts";
import { hookdSuite } from "./support/suite.ts";
import { signIn, startBrowser, type TestBrowser } from "./support/browser.ts";

/** Bulk retry from the console in headless Chromium: the count first, then the job's progress up to 50. */

const suite = hookdSuite({ respond: () => ({ status: 410, body: "gone" }) });
let browser: TestBrowser;
let page: Page;
const ids: string[] = [];

beforeAll(async () => {
  browser = await startBrowser();
  page = await browser.newPage();
  await signIn(page, suite.hookd.url, await adminToken());
  for (let i = 0; i < 50; i++) {
    const response = await api(suite.hookd.url, "/dispatch", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ _url: `${suite.receiver.url}/bulk/${i}`, i }),
    });
    ids.push(((await response.json()) as { id: string }).id);
  }
  for (const id of ids) await waitForState(suite.hookd.url, id, "failed");
  // The list reads the delivery index, which trails the journal by a moment.
  const host = new URL(suite.receiver.url).host;
  await eventually(
    async () => {
      const response = await api(suite.hookd.url, `/api/v1/deliveries/counts?host=${host}`);
      return ((await response.json()) as { counts: { failed: number } }).counts.failed === 50;
    },
    30_000,
    "the index to list the 50 failed deliveries",
  );
});
afterAll(async () => {
  await browser?.close();
});

describe("bulk actions", () => {
  it("retries the 50 failed deliveries a filter matches, showing the count and then the progress", async () => {
    suite.receiver.respond = () => ({ status: 200, body: "back" });
    await page.goto(`${suite.hookd.url}/console/deliveries?state=failed&host=${new URL(suite.receiver.url).host}`);
    expect(await page.textContent('[data-count="failed"]')).toBe("50");
    await page.click("text=Retry or cancel every delivery");
    expect(await page.textContent("#bulk-count")).toBe("50");
    await page.click("text=Retry all");
    await page.waitForSelector('#bulk-progress[data-job-state="finished"][data-done="50"]', { timeout: 60_000 });
    expect(await page.textContent("#bulk-done")).toBe("50");
    // Which instance runs the job, and that no other took it over (record 25).
    expect(await page.textContent("#bulk-instance")).toMatch(/^\s*Runs on \S+/);
    expect(await page.getAttribute("#bulk-instance", "data-taken-over")).toBe("no");
    await eventually(
      async () => {
        const states = await Promise.all(ids.map(async (id) => {
          const response = await api(suite.hookd.url, `/api/v1/deliveries/${id}`);
          return ((await response.json()) as { state: string }).state;
        }));
        return states.every((state) => state === "delivered");
      },
      60_000,
      "every retried delivery to be delivered",
    );
  });
});
