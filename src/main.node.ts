import { collectDefaultMetrics } from "prom-client";
import { announce, boot } from "./boot.ts";
import { HookdMetrics } from "./metrics.ts";
import { nodeOpenNativeStream, nodeUpgradeWebSocket, serveOnNode } from "./serve-node.ts";

/** Node entry point: serve the app with @hono/node-server and stop cleanly on SIGINT/SIGTERM. */

// Process metrics (CPU, memory, event loop lag) come from Node's own APIs, so only this entry point collects them.
const metrics = new HookdMetrics();
collectDefaultMetrics({ register: metrics.registry });
const started = await boot(process.env, (code) => process.exit(code), {
  metrics,
  upgradeWebSocket: nodeUpgradeWebSocket,
  openNativeStream: nodeOpenNativeStream,
});
const { config, log, hookd } = started;

const server = serveOnNode(
  hookd.app,
  { port: config.HOOKD_PORT, hostname: config.HOOKD_HOST },
  (info) => announce(started, { host: info.address, port: info.port }, `node ${process.version}`),
);

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, "stopping");
  server.close();
  // Streams get their last frame while the NATS link is still up.
  await hookd.closeStreams();
  await hookd.stop();
  process.exit(0);
}
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));
