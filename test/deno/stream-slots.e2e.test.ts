import { PathTokens } from "../../src/domain/path-tokens.ts";
import { spawnHookd, startNats } from "../support/processes.ts";
import { rawRequestText, sendThenDestroy } from "../support/raw-http.ts";

/**
 * Under Deno.serve, a stream whose connection goes gives its slot back, however it went: two
 * pipelined GETs, a client gone right after its headers, a HEAD. The Node suite
 * (test/stream-slots.int.test.ts) covers every way; this checks the runtime's side of it.
 */

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

async function waitUntil(check: () => Promise<boolean>, what: string, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

Deno.test("hookd on Deno releases a stream's slot however its connection goes", async () => {
  const nats = await startNats();
  const key = "deno-slots-key-0123456789";
  const tokens = new PathTokens(key);
  const admin = { authorization: `Bearer ${await tokens.tokenFor("/")}` };
  const auth = { authorization: `Bearer ${await tokens.tokenFor("/sub/p/")}` };
  const hookd = await spawnHookd({
    command: [Deno.execPath(), "run", "-A", "--node-modules-dir=manual", "src/main.deno.ts"],
    env: {
      HOOKD_PORT: "0",
      HOOKD_HOST: "127.0.0.1",
      HOOKD_LOG_LEVEL: "info",
      NATS_URL: nats.url,
      HOOKD_KEY: key,
      HOOKD_STREAM_MAX_PER_TOKEN: "2",
    },
    stderr: "inherit",
  });
  const openStreams = async () => {
    const text = await (await fetch(`${hookd.url}/metrics`, { headers: admin })).text();
    const line = text.split("\n").find((candidate) => candidate.startsWith("hookd_streams_open "));
    return line ? Number(line.split(" ")[1]) : 0;
  };
  const released = () => waitUntil(async () => (await openStreams()) === 0, "hookd_streams_open to be 0");
  const ways: [string, string, number | undefined][] = [
    [
      "pipelined",
      rawRequestText({ path: "/sse/p/l", headers: auth }) + rawRequestText({ path: "/sse/p/m", headers: auth }),
      2_000,
    ],
    ["gone after the headers", rawRequestText({ path: "/sse/p/l", headers: auth }), 0],
    ["HEAD", rawRequestText({ method: "HEAD", path: "/sse/p/l", headers: auth }), 2_000],
  ];
  try {
    for (const [way, text, waitMs] of ways) {
      for (let i = 0; i < 10; i++) {
        const read = await sendThenDestroy(hookd.url, text, waitMs);
        if (waitMs) assert(/^HTTP\/1\.1 200/.test(read), `${way}: the first bytes were ${JSON.stringify(read)}`);
        await released();
      }
    }
    // With the limit at 2, any slot still held would make this a 429.
    const controller = new AbortController();
    const listener = await fetch(`${hookd.url}/sse/p/n`, { headers: auth, signal: controller.signal });
    assert(listener.status === 200, `a listener got ${listener.status}`);
    controller.abort();
    await listener.body?.cancel().catch(() => undefined);
    await released();
  } finally {
    await hookd.stop();
    await nats.stop();
  }
});
