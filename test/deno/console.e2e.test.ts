import { PathTokens } from "../../src/domain/path-tokens.ts";
import { spawnHookd, startNats } from "../support/processes.ts";

/**
 * The console under Deno: its assets read from node_modules, signing in sets the cookie, a
 * delivery's page renders its diagram under the CSP, and its event stream follows the journal.
 * The browser tests run under Node; this checks what differs (file reads, Deno.serve's streaming).
 */

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

Deno.test("the console on Deno signs in, draws a delivery and streams its journal", async () => {
  const nats = await startNats();
  const key = "deno-console-key-0123456789";
  const admin = await new PathTokens(key).tokenFor("/");
  const hookd = await spawnHookd({
    command: [Deno.execPath(), "run", "-A", "--node-modules-dir=manual", "src/main.deno.ts"],
    env: {
      HOOKD_PORT: "0",
      HOOKD_HOST: "127.0.0.1",
      HOOKD_LOG_LEVEL: "info",
      NATS_URL: nats.url,
      HOOKD_KEY: key,
      HOOKD_ALLOWED_NETWORKS: "127.0.0.0/8",
      // Nothing listens on port 9: the delivery fails at once and waits in backoff for a minute.
      HOOKD_RETRY_SCHEDULE: "1m",
    },
    stderr: "inherit",
  });
  try {
    const htmx = await fetch(`${hookd.url}/console/assets/htmx.min.js`);
    assert(htmx.status === 200 && (await htmx.text()).includes("htmx"), `htmx answered ${htmx.status}`);

    const signIn = await fetch(`${hookd.url}/console/sign-in`, {
      method: "POST",
      headers: { origin: hookd.url, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: admin }),
      redirect: "manual",
    });
    assert(signIn.status === 303, `sign-in answered ${signIn.status}`);
    const cookie = signIn.headers.get("set-cookie") ?? "";
    assert(/HttpOnly/i.test(cookie) && /SameSite=Strict/i.test(cookie), `cookie: ${cookie}`);
    const session = { cookie: cookie.split(";")[0]! };

    const accepted = await fetch(`${hookd.url}/dispatch?_url=${encodeURIComponent("http://127.0.0.1:9/none")}`, {
      method: "POST",
      headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
      body: "{}",
    });
    const { id } = await accepted.json();

    const page = await fetch(`${hookd.url}/console/deliveries/${id}`, { headers: session });
    const html = await page.text();
    assert(page.status === 200 && html.includes('data-machine="delivery"'), `delivery page answered ${page.status}`);
    assert(page.headers.get("content-security-policy")?.includes("script-src 'self'"), "the page carries the CSP");

    // The stream the page opens, after the journal entry it was rendered at; then the journal moves on.
    const after = /live\?after=(\d+)/.exec(html)?.[1];
    assert(after !== undefined, "the page names where its live stream starts");
    const live = await fetch(`${hookd.url}/console/deliveries/${id}/live?after=${after}`, {
      headers: { ...session, accept: "text/event-stream" },
      // A stream that never says anything fails the test rather than hanging it.
      signal: AbortSignal.timeout(30_000),
    });
    const reader = live.body!.pipeThrough(new TextDecoderStream()).getReader();
    const cancel = await fetch(`${hookd.url}/api/v1/deliveries/${id}/cancel`, {
      method: "POST",
      headers: { authorization: `Bearer ${admin}` },
    });
    assert(cancel.status === 200, `cancel answered ${cancel.status}`);
    let text = "";
    while (!text.includes("event: panel")) {
      const { value, done } = await reader.read().catch(() => ({ value: "", done: true }));
      if (done) break;
      text += value;
    }
    await reader.cancel().catch(() => {});
    assert(
      text.includes("event: panel") && text.includes('data-current-state="cancelled"'),
      `the live stream said: ${text}`,
    );
  } finally {
    await hookd.stop();
    await nats.stop();
  }
});
