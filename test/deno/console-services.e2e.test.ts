import { PathTokens } from "../../src/domain/path-tokens.ts";
import { spawnHookd, startNats } from "../support/processes.ts";

/**
 * The console's services under Deno (src/main.deno.ts, where SSE goes through a web stream rather
 * than Node's response): the change feed streams a delivery's transitions, and the fleet figures
 * count its target.
 */

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

/** Reads an SSE body until `done(text so far)` or the time is up. */
async function readUntil(body: ReadableStream<Uint8Array>, done: (text: string) => boolean, timeoutMs = 20_000) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const timer = setTimeout(() => reader.cancel(), timeoutMs);
  let text = "";
  try {
    while (!done(text)) {
      const { done: ended, value } = await reader.read();
      if (ended) break;
      text += decoder.decode(value);
    }
  } finally {
    clearTimeout(timer);
    await reader.cancel().catch(() => undefined);
  }
  return text;
}

Deno.test("hookd on Deno streams delivery changes and counts the fleet", async () => {
  const nats = await startNats();
  const receiver = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, () => new Response("ok"));
  const target = `127.0.0.1:${receiver.addr.port}`;
  const key = "deno-console-key-0123456789";
  const auth = { authorization: `Bearer ${await new PathTokens(key).tokenFor("/")}` };
  const hookd = await spawnHookd({
    command: [Deno.execPath(), "run", "-A", "--node-modules-dir=manual", "src/main.deno.ts"],
    env: {
      NATS_URL: nats.url,
      HOOKD_KEY: key,
      HOOKD_PORT: "0",
      HOOKD_HOST: "127.0.0.1",
      HOOKD_LOG_LEVEL: "info",
      HOOKD_ALLOWED_NETWORKS: "127.0.0.0/8",
    },
    stderr: "inherit",
  });
  try {
    const changes = await fetch(`${hookd.url}/api/v1/deliveries/changes?target_host=${target}`, { headers: auth });
    assert(changes.status === 200, `changes answered ${changes.status}`);
    assert(changes.headers.get("content-type")?.startsWith("text/event-stream"), "changes are SSE");
    const accepted = await fetch(`${hookd.url}/dispatch?_url=${encodeURIComponent(`http://${target}/hook`)}`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: "{}",
    });
    assert(accepted.status === 202, `dispatch answered ${accepted.status}`);
    const text = await readUntil(changes.body!, (so) => so.includes('"to":"delivered"'));
    for (const step of ['"from":null,"to":"pending"', '"from":"pending","to":"in-flight"', '"to":"delivered"']) {
      assert(text.includes(step), `the change feed sent ${step}: ${text}`);
    }
    // The first request starts reading the window back and answers at once: ask until it is whole.
    let fleet = await (await fetch(`${hookd.url}/api/v1/fleet`, { headers: auth })).json();
    for (const giveUpAt = Date.now() + 10_000; !fleet.window_complete && Date.now() < giveUpAt;) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      fleet = await (await fetch(`${hookd.url}/api/v1/fleet`, { headers: auth })).json();
    }
    assert(fleet.window_complete === true, "the fleet window was read back");
    const host = fleet.hosts.find((h: { host: string }) => h.host === target);
    assert(host?.succeeded === 1, `the fleet counts one success to ${target}: ${JSON.stringify(fleet.hosts)}`);
  } finally {
    await hookd.stop();
    await receiver.shutdown();
    await nats.stop();
  }
});
