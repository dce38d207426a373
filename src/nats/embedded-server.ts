import { type ChildProcess, spawn } from "node:child_process";
import { constants, createWriteStream } from "node:fs";
import { access, mkdir, readFile, readlink, rm, writeFile } from "node:fs/promises";
import { delimiter, join, resolve } from "node:path";

/**
 * A nats-server child with JetStream, on loopback and a port the server picks itself. Used for
 * hookd's embedded default and by the test harness. A watchdog shell holds a pipe from this
 * process: when hookd dies in any way (even SIGKILL) the pipe closes and the server is stopped,
 * so no orphan keeps the store directory busy.
 */

export type NatsServerOptions = {
  /** Folder for JetStream's store, the config, the pid file and the server log. */
  dir: string;
  bin?: string;
  maxPayloadBytes?: number;
  startTimeoutMs?: number;
  /** A fixed port (to come back on the same address after a restart); by default the server picks one. */
  port?: number;
  /** Serves nats-server's HTTP monitoring (/connz, /jsz, /healthz) on this loopback port; off by default. */
  monitorPort?: number;
  /** More of nats-server's configuration, appended as given (tests: users, TLS, accounts). */
  extraConfig?: string;
};

export type NatsServerHandle = { url: string; pid: number; stop(): Promise<void> };

export class NatsServerMissingError extends Error {
  constructor(bin: string) {
    super(
      `"${bin}" was not found. Install it with "sudo apt-get install -y nats-server" (Debian/Ubuntu), ` +
        `or point hookd at an existing server with NATS_URL=nats://host:4222.`,
    );
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return !isAlive(pid);
}

/** A leftover server that is still some live process's child: it is serving someone, so it is not stopped. */
export class NatsServerBusyError extends Error {
  constructor(readonly pid: number, readonly parent: number, dir: string) {
    super(
      `hookd cannot start its nats-server: the one of ${dir} (pid ${pid}) still runs, started by pid ${parent}. ` +
        `Stop that process first.`,
    );
  }
}

/**
 * A server left behind by an earlier run (its watchdog killed too) must let go of the store first.
 * Only a server that runs this folder's config file, and that no live process holds as its child: a
 * pid file can name a pid that a later process reuses, and a running hookd's server is never stopped
 * here (hookd also locks its data folder before it gets here).
 */
async function stopLeftover(pidFile: string, configFile: string, dir: string): Promise<void> {
  const pid = Number((await readFile(pidFile, "utf8").catch(() => "")).trim());
  if (!pid || !isAlive(pid)) return;
  const args = (await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => null))?.split("\0");
  if (args) {
    const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => process.cwd());
    const flag = args.indexOf("-c");
    const given = flag >= 0 ? args[flag + 1] : undefined;
    if (!given || resolve(cwd, given) !== resolve(configFile)) return;
    const parent = await parentPid(pid);
    if (parent !== null && parent !== 1) throw new NatsServerBusyError(pid, parent, dir);
  }
  process.kill(pid, "SIGTERM");
  if (!(await waitForExit(pid, 10_000))) process.kill(pid, "SIGKILL");
}

/** The parent's pid (field 4 of /proc/<pid>/stat; the name in parentheses before it may hold spaces). */
async function parentPid(pid: number): Promise<number | null> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => null);
  if (stat === null) return null;
  const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  return Number.isInteger(parent) ? parent : null;
}

/** Debian installs nats-server in /usr/sbin, which is not on an ordinary user's PATH. */
async function resolveBinary(bin: string): Promise<string> {
  if (bin.includes("/")) return bin;
  const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/sbin", "/usr/local/sbin"].filter(Boolean);
  for (const dir of dirs) {
    const candidate = join(dir, bin);
    if (await access(candidate, constants.X_OK).then(() => true, () => false)) return candidate;
  }
  return bin;
}

/** Room for HOOKD_MAX_BODY's default (1 MiB) in base64 inside a journal event, with plenty to spare. */
export const DEFAULT_MAX_PAYLOAD = 8 * 1024 * 1024;
const DEFAULT_START_TIMEOUT_MS = 15_000;
/** How long a server has to stop on SIGTERM (JetStream flushes its store) before it is killed. */
const STOP_GRACE_MS = 10_000;

export async function startNatsServer(options: NatsServerOptions): Promise<NatsServerHandle> {
  const bin = await resolveBinary(options.bin ?? "nats-server");
  const pidFile = join(options.dir, "nats-server.pid");
  await stopLeftover(pidFile, join(options.dir, "nats-server.conf"), options.dir);
  const configFile = await writeServerConfig(options, pidFile);
  // A process group of its own: Ctrl-C reaches hookd, which stops the server after its streams have ended.
  const child = spawn(bin, ["-c", configFile], { stdio: ["ignore", "ignore", "pipe"], detached: true });
  const log = createWriteStream(join(options.dir, "nats-server.log"), { flags: "a" });
  child.stderr!.pipe(log);
  const url = await readyUrl(child, bin, options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS);
  const watchdog = startWatchdog(child.pid!);
  let stopped: Promise<void> | undefined;
  return {
    url,
    pid: child.pid!,
    stop() {
      stopped ??= (async () => {
        await stopChild(child);
        watchdog.kill("SIGKILL");
        log.end();
        await rm(pidFile, { force: true });
      })();
      return stopped;
    },
  };
}

async function writeServerConfig(options: NatsServerOptions, pidFile: string): Promise<string> {
  const storeDir = join(options.dir, "jetstream");
  const configFile = join(options.dir, "nats-server.conf");
  await mkdir(storeDir, { recursive: true });
  const lines = [
    `listen: 127.0.0.1:${options.port ?? -1}`,
    `pid_file: ${JSON.stringify(pidFile)}`,
    `max_payload: ${options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD}`,
    `jetstream { store_dir: ${JSON.stringify(storeDir)} }`,
    ...(options.monitorPort ? [`http: 127.0.0.1:${options.monitorPort}`] : []),
    ...(options.extraConfig ? [options.extraConfig] : []),
    "",
  ];
  await writeFile(configFile, lines.join("\n"));
  return configFile;
}

/** The server's client URL, once it says it listens and is ready; its own words when it fails first. */
function readyUrl(child: ChildProcess, bin: string, timeoutMs: number): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let seen = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`nats-server did not start within ${timeoutMs}ms:\n${seen.slice(-2000)}`));
    }, timeoutMs);
    child.once("error", (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(error.code === "ENOENT" ? new NatsServerMissingError(bin) : error);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`nats-server exited with code ${code} before it was ready:\n${seen.slice(-2000)}`));
    });
    child.stderr!.on("data", function onData(chunk: Buffer) {
      seen += chunk.toString();
      const listening = /Listening for client connections on ([\d.]+):(\d+)/.exec(seen);
      if (listening && seen.includes("Server is ready")) {
        clearTimeout(timer);
        child.stderr!.off("data", onData);
        child.removeAllListeners("exit");
        resolve(`nats://${listening[1]}:${listening[2]}`);
      }
    });
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  const exited = new Promise<void>((
    resolve,
  ) => (child.exitCode !== null ? resolve() : child.once("exit", () => resolve())));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
}

function startWatchdog(pid: number): ChildProcess {
  const watchdog = spawn("sh", ["-c", `read _ignored; kill -TERM ${pid} 2>/dev/null`], {
    stdio: ["pipe", "ignore", "ignore"],
    detached: true,
  });
  // The watchdog must not keep this process alive; it only waits for our end of the pipe to close.
  watchdog.unref();
  (watchdog.stdin as unknown as { unref?: () => void }).unref?.();
  return watchdog;
}
