import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { encodeSecret } from "../src/domain/sign-standard-webhooks.ts";
import { api, startTestHookd } from "./support/hookd.ts";
import { everyStoredMessage } from "./support/stream-messages.ts";
import { hookdSuite } from "./support/suite.ts";

/**
 * Secrets at rest (issue 10, item 4): subscriptions made over the API and from the config file (its
 * secrets named by environment variable and by file), and a dispatch signed with the secret hookd
 * made, deliver signed; then every message of every stream on the NATS server (subscription
 * journals, delivery journals, work queue, ingest batches, settings) is read and searched for each
 * secret, plain and base64.
 */

const fromEnv = encodeSecret(new Uint8Array(32).fill(11));
const fromFile = encodeSecret(new Uint8Array(32).fill(12));
const inline = encodeSecret(new Uint8Array(32).fill(13));
const ENV_NAME = "HOOKD_TEST_SECRET_AT_REST";
process.env[ENV_NAME] = fromEnv;
const secretFile = join(mkdtempSync(join(tmpdir(), "hookd-secret-")), "secret");
writeFileSync(secretFile, fromFile + "\n");

/** Where each secret could show: as is, its key bytes in base64, and as base64 of the whole text. */
function formsOf(secret: string): string[] {
  const key = secret.slice("whsec_".length);
  return [secret, key, key.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""), btoa(secret).slice(0, 40)];
}

describe("secrets at rest", () => {
  // hookd starts in the test, once the receiver's URL is known for its config file.
  const suite = hookdSuite({ connect: true, hookd: "none" });

  // Long: one scenario from subscribing to the dump, so the dump holds everything it made.
  it("deliveries verify with each secret, and no stream holds any of them", async () => {
    const receiver = await suite.startReceiver();
    const file = join(suite.dir, "hookd.yaml");
    writeFileSync(
      file,
      `subscriptions:
  - { name: by-env, topic: rest/env, url: "${receiver.url}/env", secret: { env: ${ENV_NAME} } }
  - { name: by-file, topic: rest/file, url: "${receiver.url}/file", secret: { file: "${secretFile}" } }
  - { name: inline, topic: rest/inline, url: "${receiver.url}/inline", secret: "${inline}" }
`,
    );
    suite.hookd = await startTestHookd(suite.nats.url, { HOOKD_CONFIG: file });
    const created = await api(suite.hookd.url, "/api/v1/subscriptions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ topic: "rest/api", url: `${receiver.url}/api` }),
    });
    expect(created.status).toBe(201);
    const fromApi = ((await created.json()) as { secret: string }).secret;
    const bySource = { env: fromEnv, file: fromFile, inline, api: fromApi };
    for (const source of Object.keys(bySource)) {
      const response = await api(suite.hookd.url, `/pub/rest/${source}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ source }),
      });
      expect(response.status).toBe(202);
    }
    // A dispatch brings no secret: it is signed with the secret hookd made and shares through NATS.
    const serverSecret = suite.hookd.hookd.generatedSigningSecret!;
    expect(serverSecret).toMatch(/^whsec_/);
    const dispatched = await api(suite.hookd.url, `/dispatch?_url=${encodeURIComponent(`${receiver.url}/dispatch`)}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ source: "dispatch" }),
    });
    expect(dispatched.status).toBe(202);
    const requests = await receiver.waitFor(5);
    for (const [source, secret] of Object.entries({ ...bySource, dispatch: serverSecret })) {
      const request = requests.find((r) => r.path.endsWith(`/${source}`))!;
      expect(new Webhook(secret).verify(request.body.toString(), request.headers as Record<string, string>))
        .toEqual({ source });
    }

    const hits = await dumpHits([...Object.values(bySource), serverSecret].flatMap(formsOf));
    expect(hits).toEqual([]);
  });

  /** "<stream> <subject> #<seq>" of every message holding any of `needles`, in any stream on the server. */
  async function dumpHits(needles: string[]): Promise<string[]> {
    const hits: string[] = [];
    let read = 0;
    for await (const message of everyStoredMessage(suite.nc)) {
      read++;
      if (needles.some((needle) => message.text.includes(needle))) {
        hits.push(`${message.stream} ${message.subject} #${message.seq}`);
      }
    }
    expect(read).toBeGreaterThan(10);
    return hits;
  }
});
