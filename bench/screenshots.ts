import { mkdir, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Page } from "playwright-core";
import { signIn, startBrowser } from "../test/support/browser.ts";
import { adminToken, api, startTestHookd, waitForState } from "../test/support/hookd.ts";
import { startNats } from "../test/support/processes.ts";
import { startReceiver } from "../test/support/receiver.ts";

/**
 * `npm run screenshots`: starts a nats-server, hookd and a receiver, makes a few deliveries and
 * subscriptions, and saves a screenshot of each console page (light, dark, and 360 px wide) for
 * docs/console.md. Into a temporary folder unless given one: `npm run screenshots -- docs/console`.
 * Not a test: it asserts nothing and only prints where the pictures went.
 */

const out = resolve(process.argv[2] ?? (await mkdtemp(join(tmpdir(), "hookd-screenshots-"))));
await mkdir(out, { recursive: true });

const nats = await startNats();
const hookd = await startTestHookd(nats.url, { HOOKD_RETRY_SCHEDULE: "1s,30m", HOOKD_TIMEOUT: "5s" });
const receiver = await startReceiver((request) => {
  if (request.path.startsWith("/flaky")) return { status: 503, body: "busy, try later", delayMs: 40 };
  if (request.path.startsWith("/gone")) return { status: 410, body: "gone" };
  return { status: 200, body: '{"ok":true}', headers: { "content-type": "application/json" }, delayMs: 25 };
});

async function post(path: string, body: unknown): Promise<{ id: string }> {
  const response = await api(hookd.url, path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return (await response.json()) as { id: string };
}

const dispatch = (path: string) => post("/dispatch", { _url: `${receiver.url}${path}`, order: 1042, total: "99.50" });

try {
  const backoff = await dispatch("/flaky/orders");
  const failed = await dispatch("/gone/hook");
  for (let i = 0; i < 6; i++) await dispatch(`/ok/${i}`);
  const subscription = await post("/api/v1/subscriptions", { topic: "shop/orders", url: `${receiver.url}/ok/shop` });
  await post("/api/v1/subscriptions", { topic: "github.com/acme/", url: `${receiver.url}/flaky/github` });
  for (let i = 0; i < 3; i++) await post("/pub/shop/orders", { order: 2000 + i });
  await waitForState(hookd.url, backoff.id, "backoff");
  await waitForState(hookd.url, failed.id, "failed");

  const shots: [string, string, (page: Page) => Promise<void>][] = [
    ["sign-in", "/console/sign-in", async () => {}],
    ["deliveries", "/console/deliveries", async () => {}],
    ["delivery", `/console/deliveries/${backoff.id}`, async () => {}],
    ["delivery-timeline", `/console/deliveries/${backoff.id}`, async (page) => {
      await page.click('li[data-entry="1"] .entry');
      await page.waitForSelector('#diagram svg[data-current-state="in-flight"]');
    }],
    ["subscription", `/console/subscriptions/${subscription.id}`, async () => {}],
    ["subscriptions", "/console/subscriptions", async () => {}],
    ["topics", "/console/topics?topic=shop%2Forders&since=0", async (page) => {
      await page.waitForSelector("#tail li");
    }],
    ["fleet", "/console/fleet", async () => {}],
    ["bulk", "/console/bulk?state=failed", async () => {}],
  ];
  // Every page in light; a few in dark and at 360 px, enough to show both work without filling docs/ with pictures.
  const variants = [
    { scheme: "light", width: 1280, suffix: "", names: shots.map(([name]) => name) },
    { scheme: "dark", width: 1280, suffix: "-dark", names: ["sign-in", "delivery", "fleet", "topics"] },
    { scheme: "light", width: 360, suffix: "-narrow", names: ["sign-in", "deliveries", "delivery", "subscription"] },
  ] as const;
  for (const { scheme, width, suffix, names } of variants) {
    const browser = await startBrowser({ colorScheme: scheme, width });
    const page = await browser.newPage();
    const token = await adminToken();
    for (const [name, path, prepare] of shots) {
      if (!(names as readonly string[]).includes(name)) continue;
      await page.goto(hookd.url + path);
      await prepare(page);
      await page.waitForTimeout(300);
      await page.screenshot({ path: join(out, `${name}${suffix}.png`), fullPage: width !== 360 });
      if (name === "sign-in") await signIn(page, hookd.url, token);
    }
    await browser.close();
  }
  console.log(`screenshots in ${out}`);
} finally {
  await receiver.stop();
  await hookd.stop();
  await nats.stop();
}
