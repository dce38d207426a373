import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.ts";
import { createLogger } from "../src/log.ts";
import { startNatsServer } from "../src/nats/embedded-server.ts";
import { startHookd } from "../src/server.ts";
import { eventually, TEST_KEY } from "./support/hookd.ts";
import { freePort, type NatsProcess, startNats } from "./support/processes.ts";

/**
 * A start that fails halfway leaves nothing running: no NATS connection (the server's own
 * monitoring counts them), no consumer pulling, no embedded nats-server child. The failures are
 * real ones an operator can meet: a stream whose subjects another stream already holds, and a
 * router whose durable consumer name is taken by a push consumer.
 */

/** A nats-server with its HTTP monitoring on, so the test reads the connection count as an operator would. */
async function startMonitoredNats(): Promise<NatsProcess & { monitor: string }> {
  const monitorPort = await freePort();
  const nats = await startNats({ monitorPort });
  return Object.assign(nats, { monitor: `http://127.0.0.1:${monitorPort}` });
}

const connections = async (monitor: string) =>
  ((await (await fetch(`${monitor}/connz`)).json()) as { num_connections: number }).num_connections;

async function configFor(dataDir: string, env: Record<string, string>) {
  return loadConfig({
    HOOKD_KEY: TEST_KEY,
    HOOKD_DATA_DIR: dataDir,
    HOOKD_LOG_LEVEL: "silent",
    HOOKD_PORT: "0",
    ...env,
  });
}

/** Processes whose command line names this folder: the embedded nats-server and its watchdog. */
async function processesUsing(folder: string): Promise<string[]> {
  const found: string[] = [];
  for (const pid of (await readdir("/proc")).filter((name) => /^\d+$/.test(name))) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
    if (cmdline.includes(folder)) found.push(`${pid}: ${cmdline.replaceAll("\0", " ")}`);
  }
  return found;
}

describe("a start that fails after NATS opened", () => {
  let nats: NatsProcess & { monitor: string };
  let dataDir: string;
  beforeAll(async () => {
    nats = await startMonitoredNats();
    dataDir = await mkdtemp(join(tmpdir(), "hookd-data-"));
  });
  afterAll(async () => {
    await nats?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("closes its connection when a stream cannot be created", async () => {
    const nc = await connect({ servers: nats.url });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "SQUATTER", subjects: ["hookd.rates.>"] });
    const config = await configFor(dataDir, { NATS_URL: nats.url });

    await expect(startHookd(config, createLogger("silent"))).rejects.toThrow(/overlap/i);

    // Only this test's own connection is left (the server may take a moment to see one close).
    await eventually(async () => (await connections(nats.monitor)) === 1, 5_000, "hookd's connection to close");
    await jsm.streams.delete("SQUATTER");
    await nc.close();
  });

  it("stops the consumers it already started when a later one fails", async () => {
    // A hookd that started once made the streams; the router's durable name is then taken by a push consumer.
    const config = await configFor(dataDir, { NATS_URL: nats.url });
    const first = await startHookd(config, createLogger("silent"));
    await first.stop();
    const nc = await connect({ servers: nats.url });
    const jsm = await jetstreamManager(nc);
    await jsm.consumers.add("HOOKD_TOPICS", {
      durable_name: "hookd-router-deploys",
      deliver_subject: "elsewhere.deploys",
      filter_subject: "hookd.topic.s.elsewhere",
    });
    const file = join(dataDir, "hookd.yaml");
    await writeFile(file, "routers:\n  - {name: deploys, type: github, from: hooks/}\n");
    const withRouter = await configFor(dataDir, { NATS_URL: nats.url, HOOKD_CONFIG: file });

    await expect(startHookd(withRouter, createLogger("silent"))).rejects.toThrow(/not a pull consumer/);

    // With its connection gone, none of the consumers it started (fan-out, expander) can still pull.
    await eventually(async () => (await connections(nats.monitor)) === 1, 5_000, "hookd's connection to close");
    await nc.close();
  });
});

describe("a start that fails with the embedded nats-server", () => {
  it("stops the nats-server it started", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "hookd-data-"));
    try {
      // A store that already holds a stream on hookd's subjects, as an operator's leftover would.
      const seeded = await startNatsServer({ dir: join(dataDir, "nats") });
      const nc = await connect({ servers: seeded.url });
      await (await jetstreamManager(nc)).streams.add({ name: "SQUATTER", subjects: ["hookd.rates.>"] });
      await nc.close();
      await seeded.stop();
      const config = await configFor(dataDir, {});

      await expect(startHookd(config, createLogger("silent"))).rejects.toThrow(/overlap/i);

      expect(await processesUsing(dataDir)).toEqual([]);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
