import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type Child, freePorts, spawnReady } from "./processes.ts";

/**
 * The three-node cluster of deploy/nats/ (docs/deploy.md), started from those very files: every
 * loopback address in them (client, route and monitoring ports) is moved to a free port, the same
 * move in all three so the routes still meet, and each store_dir to a temporary folder; nothing
 * else changes. As the cluster harness (nats-cluster.ts) does for its own generated files.
 */

export type DeployCluster = { urls: string; monitorUrls: string[]; stop(): Promise<void> };

const DEPLOY_NATS = resolve(import.meta.dirname, "../../deploy/nats");
export const DEPLOY_NODES = ["n1", "n2", "n3"];
const NATS_SERVER = process.env.HOOKD_NATS_SERVER_BIN ?? "/usr/sbin/nats-server";
const LOOPBACK = /127\.0\.0\.1:(\d+)/g;

export async function startDeployCluster(): Promise<DeployCluster> {
  const dir = await mkdtemp(join(tmpdir(), "hookd-deploy-cluster-"));
  const texts = await Promise.all(DEPLOY_NODES.map((name) => readFile(join(DEPLOY_NATS, `${name}.conf`), "utf8")));
  const written = [...new Set(texts.flatMap((text) => [...text.matchAll(LOOPBACK)].map(([, port]) => port!)))];
  const picked = await freePorts(written.length);
  const ports = new Map(written.map((port, i) => [port, picked[i]!]));
  const moved = (port: string) => `127.0.0.1:${ports.get(port)}`;
  const children: Child[] = [];
  const stop = async () => {
    await Promise.all(children.map((child) => child.kill("SIGKILL")));
    await rm(dir, { recursive: true, force: true });
  };
  const configs = await Promise.all(texts.map(async (text, i) => {
    const store = join(dir, DEPLOY_NODES[i]!);
    await mkdir(store);
    const rewritten = text
      .replace(LOOPBACK, (_, port: string) => moved(port))
      .replace(/store_dir: "[^"]*"/, `store_dir: ${JSON.stringify(store)}`);
    const file = join(dir, `${DEPLOY_NODES[i]}.conf`);
    await writeFile(file, rewritten);
    return rewritten;
  }));
  try {
    // All at once: each node is ready only once it has routes to a quorum.
    children.push(
      ...(await Promise.all(DEPLOY_NODES.map((name) =>
        spawnReady({
          what: `nats-server ${name} (deploy/nats/${name}.conf)`,
          command: ["sh", "-c", `exec "$0" -c "$1" 2>&1`, NATS_SERVER, join(dir, `${name}.conf`)],
          ready: (line) => (line.includes("Server is ready") ? true : undefined),
        })
      ))),
    );
    const urls = configs.map((text) => `nats://${/^listen: (\S+)/m.exec(text)![1]}`);
    const monitorUrls = configs.map((text) => `http://${/^http: (\S+)/m.exec(text)![1]}`);
    await metaLeader(monitorUrls);
    return { urls: urls.join(","), monitorUrls, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function metaLeader(monitorUrls: string[], timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const leaders = await Promise.all(monitorUrls.map(async (url) => {
      const response = await fetch(`${url}/jsz`, { signal: AbortSignal.timeout(2_000) }).catch(() => null);
      const jsz = (await response?.json().catch(() => null)) as { meta_cluster?: { leader?: string } } | null;
      return jsz?.meta_cluster?.leader ?? "";
    }));
    if (leaders[0] && leaders.every((leader) => leader === leaders[0])) return;
    await new Promise((done) => setTimeout(done, 200));
  }
  throw new Error(`deploy/nats's cluster has no meta leader after ${timeoutMs} ms`);
}
