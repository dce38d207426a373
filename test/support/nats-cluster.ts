import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Child, freePorts, spawnReady } from "./processes.ts";

/**
 * A three-node JetStream cluster on loopback, the one every cluster test and the cluster bench
 * share: nats-server processes with a server_name each, client, route and monitoring ports picked
 * at random on 127.0.0.1, a temporary store per node, routes to every node. `kill` (SIGKILL) and
 * `restart` bring a node back on the same ports with the same store, as an operator's restart would;
 * `stop` ends every node and removes the stores. Only node: modules, so the benches use it too.
 */

export type ClusterNode = {
  /** server_name, as JetStream names a stream's leader and peers ("n1", "n2", "n3"). */
  name: string;
  url: string;
  clientPort: number;
  monitorUrl: string;
  /** Whether its process runs right now. */
  running(): boolean;
};

export type NatsCluster = {
  nodes: ClusterNode[];
  /** Every node's client URL, comma-separated. */
  urls: string;
  node(name: string): ClusterNode;
  /** SIGKILL, as a machine that dies would; the store stays. */
  kill(name: string): Promise<void>;
  /** SIGTERM (JetStream flushes and steps down), then SIGKILL after `graceMs`. */
  shutdown(name: string, graceMs?: number): Promise<void>;
  /** Empties a stopped node's JetStream store, as a machine replaced after a disk loss would come back. */
  wipe(name: string): Promise<void>;
  /** Starts a stopped node again on its ports and store; resolves once it is ready (not yet caught up). */
  restart(name: string): Promise<void>;
  /** Resolves once every running node names the same JetStream meta leader. */
  waitForMetaLeader(timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
};

const CLUSTER_NAME = "hookd-test";
const NODE_NAMES = ["n1", "n2", "n3"];
/** Debian's package installs it here; HOOKD_NATS_SERVER_BIN overrides, as it does for hookd. */
const NATS_SERVER = process.env.HOOKD_NATS_SERVER_BIN ?? "/usr/sbin/nats-server";

type NodeSetup = ClusterNode & { configFile: string; routePort: number; process: Child | null };

export async function startNatsCluster(options: { maxPayloadBytes?: number } = {}): Promise<NatsCluster> {
  const dir = await mkdtemp(join(tmpdir(), "hookd-cluster-"));
  const nodes: NodeSetup[] = [];
  const ports = await freePorts(NODE_NAMES.length * 3);
  for (const name of NODE_NAMES) {
    const [clientPort, routePort, monitorPort] = ports.splice(0, 3) as [number, number, number];
    nodes.push({
      name,
      clientPort,
      routePort,
      url: `nats://127.0.0.1:${clientPort}`,
      monitorUrl: `http://127.0.0.1:${monitorPort}`,
      configFile: join(dir, name, "nats-server.conf"),
      process: null,
      running() {
        return this.process !== null;
      },
    });
  }
  for (const node of nodes) await writeNodeConfig(node, nodes, join(dir, node.name), options);
  const cluster = clusterOf(nodes, dir);
  try {
    // All at once: a node that starts alone waits for its routes, and each is ready only with a quorum.
    await Promise.all(nodes.map((node) => cluster.restart(node.name)));
    await cluster.waitForMetaLeader();
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}

async function writeNodeConfig(
  node: NodeSetup,
  nodes: NodeSetup[],
  nodeDir: string,
  options: { maxPayloadBytes?: number },
): Promise<void> {
  await mkdir(join(nodeDir, "jetstream"), { recursive: true });
  const routes = nodes.filter((other) => other !== node).map((other) => `nats-route://127.0.0.1:${other.routePort}`);
  const lines = [
    `server_name: ${node.name}`,
    `listen: 127.0.0.1:${node.clientPort}`,
    `http: ${new URL(node.monitorUrl).host}`,
    `max_payload: ${options.maxPayloadBytes ?? 8 * 1024 * 1024}`,
    // Small limits: three nodes share this machine's memory and disk with everything else.
    `jetstream { store_dir: ${
      JSON.stringify(join(nodeDir, "jetstream"))
    }, max_memory_store: 256MB, max_file_store: 2GB }`,
    `cluster {`,
    `  name: ${CLUSTER_NAME}`,
    `  listen: 127.0.0.1:${node.routePort}`,
    `  routes: [${routes.join(", ")}]`,
    `}`,
    "",
  ];
  await writeFile(node.configFile, lines.join("\n"));
}

function clusterOf(nodes: NodeSetup[], dir: string): NatsCluster {
  const find = (name: string) => {
    const node = nodes.find((candidate) => candidate.name === name);
    if (!node) throw new Error(`no node ${name} (the cluster has ${NODE_NAMES.join(", ")})`);
    return node;
  };
  const ended = async (node: NodeSetup, how: (child: Child) => Promise<void>) => {
    const child = node.process;
    node.process = null;
    if (child) await how(child);
  };
  return {
    nodes,
    urls: nodes.map((node) => node.url).join(","),
    node: find,
    kill: (name) => ended(find(name), (child) => child.kill("SIGKILL")),
    shutdown: (name, graceMs = 10_000) => ended(find(name), (child) => child.stop(graceMs)),
    async wipe(name) {
      const node = find(name);
      if (node.process) throw new Error(`${name} is running; stop it before wiping its store`);
      const store = join(dir, name, "jetstream");
      await rm(store, { recursive: true, force: true });
      await mkdir(store, { recursive: true });
    },
    async restart(name) {
      const node = find(name);
      if (node.process) return;
      node.process = await spawnReady({
        what: `nats-server ${name}`,
        // nats-server logs to stderr; through the shell it comes on stdout, where spawnReady reads "ready".
        command: ["sh", "-c", `exec "$0" -c "$1" 2>&1`, NATS_SERVER, node.configFile],
        ready: (line) => (line.includes("Server is ready") ? true : undefined),
        startTimeoutMs: 30_000,
      });
    },
    waitForMetaLeader: (timeoutMs = 60_000) =>
      waitForMetaLeader(nodes, timeoutMs).catch((error: Error) => {
        const logs = nodes.map((node) => `--- ${node.name}:\n${node.process?.output().slice(-1_500) ?? "(stopped)"}`);
        throw new Error(`${error.message}\n${logs.join("\n")}`);
      }),
    async stop() {
      await Promise.all(nodes.map((node) => ended(node, (child) => child.kill("SIGKILL"))));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

type Jsz = { meta_cluster?: { leader?: string; cluster_size?: number } };

async function waitForMetaLeader(nodes: NodeSetup[], timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let seen = "";
  while (Date.now() < deadline) {
    const leaders = await Promise.all(
      nodes.filter((node) => node.process).map(async (node) => {
        const response = await fetch(`${node.monitorUrl}/jsz`, { signal: AbortSignal.timeout(2_000) }).catch(() =>
          null
        );
        const jsz = (await response?.json().catch(() => null)) as Jsz | null;
        return jsz?.meta_cluster?.leader ?? "";
      }),
    );
    seen = leaders.join(",");
    if (leaders.length > 0 && leaders[0] !== "" && leaders.every((leader) => leader === leaders[0])) return leaders[0]!;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`the NATS cluster has no meta leader every node agrees on after ${timeoutMs} ms (saw "${seen}")`);
}
