import { serve } from "@hono/node-server";
import { ConfigError, loadConfig } from "./config.ts";
import { createLogger } from "./log.ts";
import { NatsServerMissingError } from "./nats/embedded-server.ts";
import { startHookd } from "./server.ts";
import { HookdMetrics } from "./metrics.ts";
import { collectDefaultMetrics } from "prom-client";

/** Node entry point: serve the app with @hono/node-server and stop cleanly on SIGINT/SIGTERM. */

let config;
try {
  config = loadConfig(process.env);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(2);
}
const log = createLogger(config.HOOKD_LOG_LEVEL);

let hookd: Awaited<ReturnType<typeof startHookd>>;
try {
  // Process metrics (CPU, memory, event loop lag) come from Node's own APIs, so only this entry point collects them.
  const metrics = new HookdMetrics();
  collectDefaultMetrics({ register: metrics.registry });
  hookd = await startHookd(config, log, { metrics });
} catch (error) {
  log.fatal({ err: error }, error instanceof NatsServerMissingError ? error.message : "hookd could not start");
  process.exit(1);
}

const server = serve({ fetch: hookd.app.fetch, port: config.HOOKD_PORT, hostname: config.HOOKD_HOST }, (info) => {
  const base = config.HOOKD_PUBLIC_URL ?? `http://${info.address.includes(":") ? `[${info.address}]` : info.address}:${info.port}`;
  log.info({ url: base, nats: hookd.natsUrl, runtime: `node ${process.version}` }, "hookd is listening");
  if (hookd.generatedAdminToken) {
    log.info({ admin_token: hookd.generatedAdminToken, key_file: `${config.HOOKD_DATA_DIR}/hookd.key` }, "admin token (grants every path); set HOOKD_KEY to use your own key");
  }
});

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, "stopping");
  server.close();
  await hookd.stop();
  process.exit(0);
}
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));
