import { upgradeWebSocket } from "hono/deno";
import { announce, boot } from "./boot.ts";

/** Deno entry point: serve the app with Deno.serve and stop cleanly on SIGINT/SIGTERM. */

const started = await boot(Deno.env.toObject(), (code) => Deno.exit(code), { upgradeWebSocket });
const { config, log, hookd } = started;

const server = Deno.serve(
  {
    port: config.HOOKD_PORT,
    hostname: config.HOOKD_HOST,
    onListen: ({ hostname, port }) => announce(started, { host: hostname, port }, `deno ${Deno.version.deno}`),
  },
  hookd.app.fetch,
);

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, "stopping");
  // Deno's shutdown waits for open requests, and a topic stream never ends by itself.
  await hookd.closeStreams();
  await Promise.race([server.shutdown(), new Promise((resolve) => setTimeout(resolve, 10_000))]);
  await hookd.stop();
  Deno.exit(0);
}
Deno.addSignalListener("SIGINT", () => void shutdown("SIGINT"));
Deno.addSignalListener("SIGTERM", () => void shutdown("SIGTERM"));
