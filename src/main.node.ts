import { collectDefaultMetrics } from "prom-client";
import { announce, boot, configOrExit, failedToListen } from "./boot.ts";
import type { Config } from "./config.ts";
import {
  forkedNumber,
  isForkedProcess,
  isOtherLaunchersWorker,
  stopWhenFirstProcessExits,
  superviseProcesses,
} from "./cluster-node.ts";
import { metricsOfEveryProcess, relayMetrics } from "./cluster-metrics-node.ts";
import { loadOrCreateKey } from "./server-key.ts";
import { HookdMetrics } from "./metrics.ts";
import { useHashes } from "./domain/hashes.ts";
import { nodeHashes } from "./hashes-node.ts";
import { useAesGcm } from "./domain/aes-gcm.ts";
import { nodeAesGcm } from "./aes-gcm-node.ts";
import { useBase64 } from "./domain/bytes.ts";
import { nodeBase64 } from "./base64-node.ts";
import { stopWhenNpmExits } from "./npm-parent.ts";
import { nodeOpenNativeStream, nodeUpgradeWebSocket, serveOnNode } from "./serve-node.ts";

/**
 * Node entry point: serve the app with @hono/node-server and stop cleanly on SIGINT/SIGTERM; with
 * HOOKD_PROCESSES above 1, fork that many processes that do so on one port (src/cluster-node.ts).
 */

// Node's own hashes for every delivery's id and signature: Web Crypto's cost a thread-pool round trip each.
useHashes(nodeHashes);
// And Node's AES-GCM for sealing and opening secrets: a fan-out's first event seals one per subscription.
useAesGcm(nodeAesGcm);
// And Buffer's base64 for every body stored and sent: btoa costs about 15 µs a kilobyte under Node.
useBase64(nodeBase64);
const exit = (code: number) => process.exit(code);
const CODE = import.meta.url.endsWith(".ts") ? "sources" : "bundle";

async function serveHere(): Promise<void> {
  // Process metrics (CPU, memory, event loop lag) come from Node's own APIs, so only this entry point collects them.
  const metrics = new HookdMetrics();
  collectDefaultMetrics({ register: metrics.registry });
  // A scrape reaches whichever process the cluster hands its connection to: each answers for all of them.
  if (isForkedProcess()) metrics.exposeWith(metricsOfEveryProcess(metrics.registry));
  const place = { process: forkedNumber() };
  const started = await boot(process.env, exit, {
    metrics,
    upgradeWebSocket: nodeUpgradeWebSocket,
    openNativeStream: nodeOpenNativeStream,
  }, place);
  const { config, log, hookd } = started;

  const server = serveOnNode(
    hookd.app,
    { port: config.HOOKD_PORT, hostname: config.HOOKD_HOST },
    // Which code runs shows on the first line an operator reads: the bundle, or the sources (tsx) when it is stale.
    (info) => announce(started, { host: info.address, port: info.port }, `node ${process.version} (${CODE})`, place),
  );
  // A port that is taken (or not ours to use) ends the start: everything started so far is stopped.
  server.once("error", (error) => void failedToListen(started, error, exit));

  let stopping = false;
  async function shutdown(why: { signal: string } | { reason: string }) {
    if (stopping) return;
    stopping = true;
    log.info(why, "stopping");
    server.close();
    // Streams get their last frame while the NATS link is still up.
    await hookd.closeStreams();
    await hookd.stop();
    exit(0);
  }
  process.on("SIGINT", () => void shutdown({ signal: "SIGINT" }));
  process.on("SIGTERM", () => void shutdown({ signal: "SIGTERM" }));
  if (isForkedProcess()) {
    stopWhenFirstProcessExits(() => void shutdown({ reason: "the first hookd process has exited" }));
    return;
  }
  stopWhenNpmExits(
    process.env,
    () => process.ppid,
    () => void shutdown({ reason: "npm, which started hookd, has exited" }),
  );
}

/** The token key every process signs with, made here once: made by each at once, one could read the file before another wrote it. */
async function makeTokenKey(config: Config): Promise<void> {
  try {
    await loadOrCreateKey(config.HOOKD_DATA_DIR, config.HOOKD_KEY);
  } catch (error) {
    console.error(
      `hookd cannot keep its token key in HOOKD_DATA_DIR=${config.HOOKD_DATA_DIR}: ${(error as Error).message}`,
    );
    exit(1);
  }
}

// A forked process was checked by the first one: its configuration is the first one's.
const first = isForkedProcess() ? null : configOrExit(process.env, exit);
if (first && first.HOOKD_PROCESSES > 1 && isOtherLaunchersWorker()) {
  console.error(
    `HOOKD_PROCESSES=${first.HOOKD_PROCESSES}: hookd already runs as a worker of another launcher's cluster ` +
      "(such as PM2's cluster mode); leave HOOKD_PROCESSES at 1 there, or start hookd on its own",
  );
  exit(2);
}
if (first && first.HOOKD_PROCESSES > 1) {
  await makeTokenKey(first);
  relayMetrics();
  superviseProcesses(first.HOOKD_PROCESSES, first.HOOKD_INSTANCE_ID, exit, (stop) => {
    stopWhenNpmExits(process.env, () => process.ppid, stop);
  });
} else {
  await serveHere();
}
