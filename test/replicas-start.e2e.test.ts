import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TEST_KEY } from "./support/hookd.ts";
import { startNatsCluster } from "./support/nats-cluster.ts";
import { type NatsProcess, startNats } from "./support/processes.ts";

/**
 * hookd, started as an operator starts it (src/main.node.ts), with a wrong HOOKD_REPLICAS or
 * HOOKD_NAMESPACE: it exits non-zero, having said on one line which variable to fix, with no stack trace.
 */

let nats: NatsProcess;
beforeAll(async () => (nats = await startNats()));
afterAll(async () => await nats?.stop());

async function failedStart(
  env: Record<string, string>,
  natsUrl = nats.url,
): Promise<{ code: number | null; stderr: string }> {
  const dataDir = await mkdtemp(join(tmpdir(), "hookd-data-"));
  try {
    const child = spawn(process.execPath, ["--import", "tsx", "src/main.node.ts"], {
      env: {
        ...process.env,
        HOOKD_KEY: TEST_KEY,
        HOOKD_DATA_DIR: dataDir,
        HOOKD_PORT: "0",
        NATS_URL: natsUrl,
        ...env,
      },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 90_000);
    const code = await new Promise<number | null>((resolve) => child.once("exit", (exitCode) => resolve(exitCode)));
    clearTimeout(timer);
    return { code, stderr };
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

describe("a start with a wrong replica count or namespace", () => {
  it("HOOKD_REPLICAS above one on a single server: one line naming HOOKD_REPLICAS, exit 1", async () => {
    const { code, stderr } = await failedStart({ HOOKD_REPLICAS: "3" });
    expect(code).toBe(1);
    const lines = stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^HOOKD_REPLICAS is 3 but the NATS server is not part of a JetStream cluster.*HOOKD_REPLICAS=1/,
    );
  }, 90_000);

  it("a namespace that is not a subject token: the configuration error names HOOKD_NAMESPACE, exit 2", async () => {
    const { code, stderr } = await failedStart({ HOOKD_NAMESPACE: "prod.eu" });
    expect(code).toBe(2);
    expect(stderr).toMatch(/HOOKD_NAMESPACE: must be lower-case letters, digits and "-"/);
    expect(stderr).not.toMatch(/^\s+at /m);
  }, 90_000);
});

describe("a start on a cluster with too few nodes up", () => {
  it("one node of three: after waiting for a leader, one line naming the servers and the fix, exit 1", async () => {
    const cluster = await startNatsCluster();
    try {
      await cluster.kill("n2");
      await cluster.kill("n3");
      const n1 = cluster.node("n1").url;
      const { code, stderr } = await failedStart({ HOOKD_REPLICAS: "3" }, n1);
      expect(code).toBe(1);
      const lines = stderr.trim().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^JetStream at ${n1} has had no leader for .*start the other nodes`));
    } finally {
      await cluster.stop();
    }
  }, 120_000);
});
