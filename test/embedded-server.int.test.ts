import { connect } from "@nats-io/transport-node";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { NatsServerBusyError, type NatsServerHandle, startNatsServer } from "../src/nats/embedded-server.ts";

/**
 * The embedded nats-server's launcher stops a server left in its folder by an earlier run, and only
 * such a server: never one that a live process still runs (a running hookd's), and never a process
 * that the pid file names but that runs another folder's server (a pid reused since).
 */

const servers: NatsServerHandle[] = [];
const folders: string[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) await server.stop();
  for (const folder of folders.splice(0)) await rm(folder, { recursive: true, force: true });
});

async function folder(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "hookd-embedded-"));
  folders.push(dir);
  return dir;
}

async function start(dir: string): Promise<NatsServerHandle> {
  const server = await startNatsServer({ dir });
  servers.push(server);
  return server;
}

async function answers(url: string): Promise<boolean> {
  const nc = await connect({ servers: url, timeout: 2_000 }).catch(() => null);
  await nc?.close();
  return nc !== null;
}

describe("the embedded nats-server's launcher", () => {
  it("refuses, naming it, to stop a server in its folder that a live process still runs", async () => {
    const dir = await folder();
    const running = await start(dir);

    const second = startNatsServer({ dir });

    await expect(second).rejects.toBeInstanceOf(NatsServerBusyError);
    await expect(second).rejects.toThrow(`(pid ${running.pid}) still runs, started by pid ${process.pid}`);
    expect(await answers(running.url)).toBe(true);
  });

  it("leaves alone a process that the pid file names but that serves another folder", async () => {
    const other = await start(await folder());
    const dir = await folder();
    await writeFile(join(dir, "nats-server.pid"), `${other.pid}\n`);

    const own = await start(dir);

    expect(await answers(other.url)).toBe(true);
    expect(await answers(own.url)).toBe(true);
  });
});
