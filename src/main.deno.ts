import { upgradeWebSocket } from "hono/deno";
import { announce, boot, failedToListen } from "./boot.ts";
import { stopWhenNpmExits } from "./npm-parent.ts";

/** Deno entry point: serve the app with Deno.serve and stop cleanly on SIGINT/SIGTERM. */

const exit = (code: number) => Deno.exit(code);
const env = Deno.env.toObject();
const started = await boot(env, exit, { upgradeWebSocket }, { oneProcessRuntime: "Deno" });
const { config, log, hookd } = started;

function listen(): Deno.HttpServer {
  return Deno.serve(
    {
      port: config.HOOKD_PORT,
      hostname: config.HOOKD_HOST,
      onListen: ({ hostname, port }) => announce(started, { host: hostname, port }, `deno ${Deno.version.deno}`),
    },
    hookd.app.fetch,
  );
}

// Deno.serve throws when the port is taken (or not ours to use); that ends the start, stopping what it started.
const server = await (async () => {
  try {
    return listen();
  } catch (error) {
    return await failedToListen(started, error, exit);
  }
})();

let stopping = false;
async function shutdown(why: { signal: string } | { reason: string }) {
  if (stopping) return;
  stopping = true;
  log.info(why, "stopping");
  // Deno's shutdown waits for open requests, and a topic stream never ends by itself.
  await hookd.closeStreams();
  await Promise.race([server.shutdown(), new Promise((resolve) => setTimeout(resolve, 10_000))]);
  await hookd.stop();
  exit(0);
}
Deno.addSignalListener("SIGINT", () => void shutdown({ signal: "SIGINT" }));
Deno.addSignalListener("SIGTERM", () => void shutdown({ signal: "SIGTERM" }));
stopWhenNpmExits(env, () => Deno.ppid, () => void shutdown({ reason: "npm, which started hookd, has exited" }));
