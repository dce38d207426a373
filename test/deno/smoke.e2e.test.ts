import { Webhook } from "standardwebhooks";
import { listen, publish } from "../../src/client/index.ts";
import { encodeSecret } from "../../src/domain/sign-standard-webhooks.ts";
import { PathTokens } from "../../src/domain/path-tokens.ts";
import { spawnHookd, startNats } from "../support/processes.ts";

/**
 * Deno smoke suite: the real server (src/main.deno.ts under Deno.serve) against a real nats-server,
 * delivering a signed webhook to a real receiver, and refusing a target that resolves to loopback
 * when loopback is not allowed. The full suite runs under Node; this checks what differs.
 */

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

async function waitUntil<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** hookd under Deno, through the same process helper the Node suites and the benches use. */
function startDenoHookd(env: Record<string, string>) {
  return spawnHookd({
    command: [Deno.execPath(), "run", "-A", "--node-modules-dir=manual", "src/main.deno.ts"],
    env: { HOOKD_PORT: "0", HOOKD_HOST: "127.0.0.1", HOOKD_LOG_LEVEL: "info", HOOKD_RETRY_SCHEDULE: "100ms", ...env },
    stderr: "inherit",
  });
}

Deno.test("hookd on Deno delivers a signed webhook and guards private targets", async () => {
  // Separate NATS servers: instances sharing one also share the work queue, and the permissive one would pick up the strict one's delivery.
  const nats = await startNats();
  const strictNats = await startNats();
  const received: { path: string; headers: Headers; body: string }[] = [];
  const receiver = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async (request) => {
    received.push({ path: new URL(request.url).pathname, headers: request.headers, body: await request.text() });
    return new Response("ok");
  });
  const receiverUrl = `http://127.0.0.1:${receiver.addr.port}`;
  const key = "deno-smoke-key-0123456789";
  const secret = encodeSecret(new Uint8Array(32).fill(1));
  const admin = await new PathTokens(key).tokenFor("/");
  const auth = { authorization: `Bearer ${admin}` };
  const allowLoopback = await startDenoHookd({
    NATS_URL: nats.url,
    HOOKD_KEY: key,
    HOOKD_ALLOWED_NETWORKS: "127.0.0.0/8",
    HOOKD_SIGNING_SECRET: secret,
  });
  const strict = await startDenoHookd({ NATS_URL: strictNats.url, HOOKD_KEY: key, HOOKD_ALLOWED_NETWORKS: "" });
  try {
    const health = await fetch(`${allowLoopback.url}/healthz`);
    assert(health.status === 200, `healthz answered ${health.status}`);
    await health.body?.cancel();

    const accepted = await fetch(`${allowLoopback.url}/dispatch?_url=${encodeURIComponent(receiverUrl + "/deno")}`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ runtime: "deno" }),
    });
    assert(accepted.status === 202, `dispatch answered ${accepted.status}`);
    const { id } = await accepted.json();
    const delivery = await waitUntil(
      async () => received.find((r) => r.headers.get("webhook-id") === id),
      "the webhook",
    );
    const payload = new Webhook(secret).verify(delivery.body, Object.fromEntries(delivery.headers));
    assert(JSON.stringify(payload) === JSON.stringify({ runtime: "deno" }), "signed payload verifies");
    const view = await waitUntil(async () => {
      const response = await fetch(`${allowLoopback.url}/api/v1/deliveries/${id}`, { headers: auth });
      const json = await response.json();
      return json.state === "delivered" ? json : undefined;
    }, "the delivery to be journaled as delivered");
    assert(view.history.length === 3, `history has ${view.history.length} entries`);

    // The client library under Deno: what publish() sends, listen() hands over, and aborting ends it cleanly.
    const heard: string[] = [];
    const stopListening = new AbortController();
    const listening = listen(`${allowLoopback.url}/sub/deno/client`, {
      token: admin,
      since: 0,
      signal: stopListening.signal,
      onMessage: (message) => {
        heard.push(`${message.topic} ${message.text()}`);
        stopListening.abort();
      },
    });
    await publish(allowLoopback.url, "deno/client", "from deno", { token: admin });
    await listening;
    assert(heard.join() === "deno/client from deno", `the client heard ${JSON.stringify(heard)}`);

    // WebSockets are served by Deno's own upgrade: Hookbot's binary frames, topic NUL body when recursive.
    const socket = new WebSocket(`${allowLoopback.url.replace("http", "ws")}/sub/deno/?token=${admin}`);
    socket.binaryType = "arraybuffer";
    const frame = new Promise<Uint8Array>((resolve, reject) => {
      socket.onmessage = (event) => resolve(new Uint8Array(event.data as ArrayBuffer));
      socket.onerror = () => reject(new Error("WebSocket error"));
    });
    await new Promise((resolve, reject) => {
      socket.onopen = resolve;
      socket.onclose = (event) => reject(new Error(`WebSocket closed before opening: ${event.code}`));
    });
    await publish(allowLoopback.url, "deno/ws", "over a socket", { token: admin });
    const text = new TextDecoder().decode(await frame);
    assert(text === "deno/ws\u0000over a socket", `the WebSocket got ${JSON.stringify(text)}`);
    const closed = new Promise((resolve) => (socket.onclose = resolve));
    socket.close();
    await closed;

    const refused = await fetch(`${strict.url}/api/v1/deliveries`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ url: `http://localhost:${receiver.addr.port}/ssrf` }),
    });
    assert(refused.status === 202, `create answered ${refused.status}`);
    const refusedId = (await refused.json()).id;
    const failed = await waitUntil(async () => {
      const response = await fetch(`${strict.url}/api/v1/deliveries/${refusedId}`, { headers: auth });
      const json = await response.json();
      return json.state === "failed" ? json : undefined;
    }, "the SSRF guard to fail the delivery");
    assert(/HOOKD_ALLOWED_NETWORKS/.test(failed.attempts[0].error), `error was ${failed.attempts[0].error}`);
    assert(!received.some((r) => r.path === "/ssrf"), "no request reached the forbidden target");
  } finally {
    await allowLoopback.stop();
    await strict.stop();
    await receiver.shutdown();
    await nats.stop();
    await strictNats.stop();
  }
});
