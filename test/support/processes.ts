import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startNatsServer, type NatsServerHandle } from "../../src/nats/embedded-server.ts";

/** A real nats-server with JetStream for one test suite: random port, temporary store, removed at teardown. */
export type TestNats = {
  url: string;
  port: number;
  dir: string;
  /** Stops the server but keeps its store, so `restart` brings the same streams back on the same port. */
  pause(): Promise<void>;
  restart(): Promise<void>;
  stop(): Promise<void>;
};

export async function startTestNats(): Promise<TestNats> {
  const dir = await mkdtemp(join(tmpdir(), "hookd-nats-"));
  let server: NatsServerHandle = await startNatsServer({ dir });
  const port = Number(new URL(server.url).port);
  return {
    url: server.url,
    port,
    dir,
    pause: () => server.stop(),
    async restart() {
      server = await startNatsServer({ dir, port });
    },
    async stop() {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
