import { serve } from "@hono/node-server";
import { Hono } from "hono";
import type { AddressInfo } from "node:net";

/**
 * The floor under ingest's figure: hookd's own HTTP stack (Hono on @hono/node-server, as hookd serves
 * it under Node) with nothing behind it. Each POST /dispatch reads its query and body and is answered
 * 202 with a JSON id, as ingest answers, but nothing is checked or stored. bench/dispatch loads it
 * as it loads ingest; what hookd's ingest reaches of this is what its own work leaves of the stack's rate.
 */
const app = new Hono();
let accepted = 0;
app.post("/dispatch", async (c) => {
  const target = c.req.query("_url");
  const body = await c.req.arrayBuffer();
  accepted++;
  return c.json({ id: `floor_${accepted}`, target: target?.length ?? 0, bytes: body.byteLength }, 202);
});
const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, (info: AddressInfo) => {
  process.stdout.write(`${info.port}\n`);
});
server.on("error", (error) => {
  console.error(error);
  process.exit(1);
});
