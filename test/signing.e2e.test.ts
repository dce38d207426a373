import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, TEST_KEY, tokenFor } from "./support/hookd.ts";
import { type HookdProcess, spawnHookd } from "./support/processes.ts";
import { type Receiver, startReceiver } from "./support/receiver.ts";

/**
 * Signed by default, as a user meets it: hookd started with no signing setting (its own embedded
 * nats-server, as `npm start` runs it) signs a /dispatch delivery; `hookd secret` prints the secret that
 * the standardwebhooks package verifies it with at a real receiver; the start log shows the same secret;
 * after a restart on the same data folder nothing changes for the receiver.
 */

const run = promisify(execFile);
let dataDir: string;
let receiver: Receiver;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "hookd-signing-e2e-"));
  receiver = await startReceiver();
});

afterAll(async () => {
  await receiver?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

const ENV = {
  HOOKD_KEY: TEST_KEY,
  HOOKD_ALLOWED_NETWORKS: "127.0.0.0/8",
  HOOKD_PORT: "0",
  HOOKD_LOG_LEVEL: "info",
};

/** hookd on the test's data folder, with no signing setting at all (not even an inherited one). */
function startHookd(): Promise<HookdProcess> {
  return spawnHookd({ env: { ...ENV, HOOKD_DATA_DIR: dataDir, HOOKD_SIGNING_SECRET: "" } });
}

async function hookdSecret(env: Record<string, string> = {}): Promise<string> {
  const { stdout } = await run(process.execPath, ["bin/hookd.mjs", "secret"], {
    env: { ...process.env, HOOKD_DATA_DIR: dataDir, HOOKD_SIGNING_SECRET: "", ...env },
  });
  return stdout.trim();
}

/** The secret the start log announces, as a user reads it there. */
async function loggedSecret(hookd: HookdProcess): Promise<string> {
  return eventually(async () => /"signing_secret":"(whsec_[^"]+)"/.exec(hookd.output())?.[1], 10_000, "the log line");
}

async function dispatchVerified(hookd: HookdProcess, secret: string, body: Record<string, unknown>) {
  const before = receiver.requests.length;
  const target = encodeURIComponent(`${receiver.url}/hook`);
  const response = await fetch(`${hookd.url}/dispatch?_url=${target}`, {
    method: "POST",
    headers: { authorization: `Bearer ${await tokenFor("/dispatch")}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  expect(response.status).toBe(202);
  const request = (await receiver.waitFor(before + 1))[before]!;
  return new Webhook(secret).verify(request.body.toString(), request.headers as Record<string, string>);
}

describe("signing with no configuration", () => {
  it("signs a dispatch verifiably with the secret hookd secret prints, and keeps it across a restart", async () => {
    const first = await startHookd();
    let secret: string;
    try {
      secret = await hookdSecret();
      expect(secret).toMatch(/^whsec_/);
      expect(await loggedSecret(first)).toBe(secret);
      expect(await dispatchVerified(first, secret, { n: 1 })).toEqual({ n: 1 });
    } finally {
      await first.stop();
    }
    const second = await startHookd();
    try {
      expect(await loggedSecret(second)).toBe(secret);
      expect(await hookdSecret()).toBe(secret);
      expect(await dispatchVerified(second, secret, { n: 2 })).toEqual({ n: 2 });
    } finally {
      await second.stop();
    }
  });

  it("hookd secret prints HOOKD_SIGNING_SECRET when set, and says when signing is off", async () => {
    const own = "whsec_" + Buffer.alloc(24, 6).toString("base64");
    expect(await hookdSecret({ HOOKD_SIGNING_SECRET: own })).toBe(own);
    await expect(hookdSecret({ HOOKD_SIGNING_SECRET: "off" })).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/signing is off/),
    });
  });
});
