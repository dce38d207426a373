import { ConfigError, loadConfig } from "./config.ts";
import { createLogger } from "./log.ts";
import { NatsServerMissingError } from "./nats/embedded-server.ts";
import { startHookd } from "./server.ts";

/** Deno entry point: serve the app with Deno.serve and stop cleanly on SIGINT/SIGTERM. */

let config;
try {
  config = loadConfig(Deno.env.toObject());
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  Deno.exit(2);
}
const log = createLogger(config.HOOKD_LOG_LEVEL);

let hookd: Awaited<ReturnType<typeof startHookd>>;
try {
  hookd = await startHookd(config, log);
} catch (error) {
  log.fatal({ err: error }, error instanceof NatsServerMissingError ? error.message : "hookd could not start");
  Deno.exit(1);
}

const server = Deno.serve(
  {
    port: config.HOOKD_PORT,
    hostname: config.HOOKD_HOST,
    onListen: ({ hostname, port }) => {
      const base = config.HOOKD_PUBLIC_URL ?? `http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`;
      log.info({ url: base, nats: hookd.natsUrl, runtime: `deno ${Deno.version.deno}` }, "hookd is listening");
      if (hookd.generatedAdminToken) {
        log.info({ admin_token: hookd.generatedAdminToken, key_file: `${config.HOOKD_DATA_DIR}/hookd.key` }, "admin token (grants every path); set HOOKD_KEY to use your own key");
      }
    },
  },
  hookd.app.fetch,
);

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, "stopping");
  await server.shutdown();
  await hookd.stop();
  Deno.exit(0);
}
Deno.addSignalListener("SIGINT", () => void shutdown("SIGINT"));
Deno.addSignalListener("SIGTERM", () => void shutdown("SIGTERM"));
