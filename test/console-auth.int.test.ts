import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminToken, api, tokenFor, waitForState } from "./support/hookd.ts";
import { hookdSuite } from "./support/suite.ts";
import { signIn, startBrowser, type TestBrowser } from "./support/browser.ts";

/** The console's door in headless Chromium: no token or a weak one sees the sign-in page and no data; CSRF is refused. */

// Long backoffs: the delivery the cross-site post aims at stays in backoff for the whole test.
const suite = hookdSuite({
  env: { HOOKD_RETRY_SCHEDULE: "10m" },
  respond: () => ({ status: 500, body: "not yet" }),
});
let browser: TestBrowser;
let deliveryId: string;

beforeAll(async () => {
  browser = await startBrowser();
  const response = await api(suite.hookd.url, "/dispatch", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ _url: `${suite.receiver.url}/target`, secret: "data" }),
  });
  deliveryId = ((await response.json()) as { id: string }).id;
  await waitForState(suite.hookd.url, deliveryId, "backoff");
});
afterAll(async () => {
  await browser?.close();
});

describe("signing in to the console", () => {
  it("shows the sign-in page and no data without a token", async () => {
    const page = await browser.newPage();
    await page.goto(`${suite.hookd.url}/console/deliveries/${deliveryId}`);
    expect(new URL(page.url()).pathname).toBe("/console/sign-in");
    expect(await page.content()).not.toContain(deliveryId);
    await page.close();
  });

  it("refuses a bad token, and a token that grants less than the console shows, saying why", async () => {
    const page = await browser.newPage();
    await page.goto(`${suite.hookd.url}/console/sign-in`);
    await page.fill("#token", "0".repeat(40));
    await page.click("button[type=submit]");
    expect(await page.textContent("#sign-in-error")).toContain("does not grant");
    await page.fill("#token", await tokenFor("/api/v1/"));
    await page.click("button[type=submit]");
    expect(await page.textContent("#sign-in-error")).toContain("needs /api/v1/ and /sub/");
    expect(await browser.context.cookies()).toEqual([]);
    await page.goto(`${suite.hookd.url}/console/deliveries/${deliveryId}`);
    expect(new URL(page.url()).pathname).toBe("/console/sign-in");
    expect(await page.content()).not.toContain(deliveryId);
    await page.close();
  });

  it("keeps the admin token in an HttpOnly, SameSite=Strict cookie and clears it on sign-out", async () => {
    const page = await browser.newPage();
    await signIn(page, suite.hookd.url, await adminToken());
    const [cookie] = await browser.context.cookies();
    expect(cookie).toMatchObject({ name: "hookd_console", httpOnly: true, sameSite: "Strict", path: "/console" });
    await page.goto(`${suite.hookd.url}/console/deliveries/${deliveryId}`);
    expect(await page.textContent("h1")).toBe(deliveryId);
    await page.click("text=Sign out");
    await page.waitForURL(/\/console\/sign-in$/);
    expect(await browser.context.cookies()).toEqual([]);
    await page.close();
  });
});

describe("cross-site requests", () => {
  let attacker: Server;
  let attackerUrl: string;

  beforeAll(async () => {
    // Another origin on the same machine (same site, other port): SameSite alone would let the cookie through.
    attacker = createServer((_request, response) => {
      response.writeHead(200, { "content-type": "text/html" });
      response.end(
        `<!doctype html><form id="f" method="post" action="${suite.hookd.url}/console/deliveries/${deliveryId}/cancel">
        <input name="_csrf" value="guess"></form><script>document.getElementById("f").submit()</script>`,
      );
    });
    await new Promise<void>((resolve) => attacker.listen(0, "127.0.0.1", resolve));
    attackerUrl = `http://127.0.0.1:${(attacker.address() as AddressInfo).port}/`;
  });
  afterAll(async () => {
    attacker.closeAllConnections();
    await new Promise((resolve) => attacker.close(resolve));
  });

  it("refuses a form posted from another origin, and the delivery is left as it was", async () => {
    const page = await browser.newPage();
    await signIn(page, suite.hookd.url, await adminToken());
    const refused = page.waitForResponse((response) => response.url().endsWith("/cancel"));
    await page.goto(attackerUrl);
    const response = await refused;
    expect(response.status()).toBe(403);
    expect(await response.text()).toContain("cross-site request forgery");
    expect((await waitForState(suite.hookd.url, deliveryId, "backoff")).state).toBe("backoff");
    await page.close();
  });

  it("refuses a same-origin post without the session's CSRF token", async () => {
    const page = await browser.newPage();
    await signIn(page, suite.hookd.url, await adminToken());
    const status = await page.evaluate(
      async (path) => (await fetch(path, { method: "POST" })).status,
      `/console/deliveries/${deliveryId}/cancel`,
    );
    expect(status).toBe(403);
    expect((await waitForState(suite.hookd.url, deliveryId, "backoff")).state).toBe("backoff");
    await page.close();
  });
});
