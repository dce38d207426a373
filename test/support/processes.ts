import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { type AddressInfo, createServer } from "node:net";
import { join } from "node:path";
import { type NatsServerHandle, startNatsServer } from "../../src/nats/embedded-server.ts";

/**
 * Every child process the tests and the benches start, in one place: a nats-server with a throw-away
 * store, hookd as a process (Node, or Deno for the Deno smoke test) with the URL read from its log,
 * and any script that says it is ready on a line of its output. Only node: modules, so Deno's smoke
 * test imports this file too; nothing from vitest, so the benches do.
 */

// ---------------------------------------------------------------------------------------------
// nats-server

/** A real nats-server with JetStream: random port, temporary store, removed at stop. */
export type NatsProcess = {
  url: string;
  port: number;
  /** Its pid, for benches that read its CPU time. */
  pid: number;
  dir: string;
  /** Stops the server but keeps its store, so `restart` brings the same streams back on the same port. */
  pause(): Promise<void>;
  restart(): Promise<void>;
  stop(): Promise<void>;
};

/** A loopback port nothing listens on right now. */
export async function freePort(): Promise<number> {
  return (await freePorts(1))[0]!;
}

/**
 * `count` distinct free ports. Each is held until all are picked: a port let go at once can come back
 * from the next pick (a cluster node once got the same port for its clients and its routes).
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createServer());
  try {
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))));
    return servers.map((server) => (server.address() as AddressInfo).port);
  } finally {
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }
}

export type NatsOptions = {
  maxPayloadBytes?: number;
  monitorPort?: number;
  /** More nats-server configuration (users, TLS, an operator), appended to the harness's own. */
  extraConfig?: string;
  /** A fixed port, e.g. one a hookd is already waiting for; by default the server picks one. */
  port?: number;
};

export async function startNats(options: NatsOptions = {}): Promise<NatsProcess> {
  const dir = await mkdtemp(join(tmpdir(), "hookd-nats-"));
  // hookd's own launcher: the watchdog it adds stops the server even when this process is killed.
  let server: NatsServerHandle = await startNatsServer({ dir, ...options });
  const port = Number(new URL(server.url).port);
  return {
    url: server.url,
    port,
    get pid() {
      return server.pid;
    },
    dir,
    pause: () => server.stop(),
    async restart() {
      server = await startNatsServer({ dir, port, ...options });
    },
    async stop() {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Any child that announces itself on a line of its standard output

export type Child = {
  child: ChildProcess;
  /** The last OUTPUT_KEPT characters of its output (stderr too, unless passed through), for error messages. */
  output(): string;
  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`; resolves once it is gone. */
  stop(graceMs?: number): Promise<void>;
  /** Sends `signal` (SIGKILL unless told) and resolves once it is gone. */
  kill(signal?: NodeJS.Signals): Promise<void>;
};

export type SpawnOptions<T> = {
  /** The program and its arguments. */
  command: string[];
  /** Over this process's environment. */
  env?: Record<string, string>;
  /** "pipe" keeps stderr in output(); "inherit" passes it through (a bench's console, where it would be lost). */
  stderr?: "pipe" | "inherit";
  /** Looks at each complete line of stdout; the first value it returns means the child is ready. */
  ready: (line: string) => T | undefined;
  /** Every line of stdout, before and after ready. */
  onLine?: (line: string) => void;
  /** Once the child has exited, however it ended (also when it never got ready). */
  onExit?: () => void;
  /** What the child is, for error messages. */
  what: string;
  startTimeoutMs?: number;
};

/** Kept for error messages only: a bench's child logs for minutes, and memory should not grow with it. */
const OUTPUT_KEPT = 100_000;

// A child killed by a signal has no exit code, only a signal code; either means it is gone.
const gone = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => (gone(child) ? resolve() : child.once("exit", () => resolve())));
}

/** SIGTERM, then SIGKILL if `child` has not exited after `graceMs`; resolves once it is gone. */
export async function stopProcess(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (gone(child)) return;
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  child.kill("SIGTERM");
  await exited(child);
  clearTimeout(timer);
}

/**
 * Starts `command` and resolves with what `ready` found on its stdout; rejects (killing the child) if it
 * exits first or takes longer than `startTimeoutMs`.
 */
export async function spawnReady<T>(options: SpawnOptions<T>): Promise<Child & { ready: T }> {
  const [program, ...args] = options.command;
  const child = spawn(program!, args, {
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", options.stderr ?? "pipe"],
  });
  if (options.onExit) child.once("exit", options.onExit);
  let output = "";
  const keep = (text: string) => {
    output = output.length + text.length > OUTPUT_KEPT ? (output + text).slice(-OUTPUT_KEPT) : output + text;
  };
  child.stderr?.on("data", (chunk: Buffer) => keep(chunk.toString()));
  const timeoutMs = options.startTimeoutMs ?? 30_000;
  const ready = await new Promise<T>((resolve, reject) => {
    // A late child is stopped as any other (it may clean up what it made) and the start fails once it is gone.
    let late = false;
    const timer = setTimeout(() => {
      late = true;
      void stopProcess(child, 5_000);
    }, timeoutMs);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      const why = late ? `was not ready within ${timeoutMs} ms` : `exited (${code ?? signal}) before it was ready`;
      reject(new Error(`${options.what} ${why}:\n${output}`));
    });
    // A program that cannot be started (ENOENT) fires only "error"; unheard, it would end this process.
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    let partial = "";
    let found = false;
    child.stdout!.on("data", (chunk: Buffer) => {
      const text = chunk.toString();
      keep(text);
      const lines = (partial + text).split("\n");
      partial = lines.pop()!;
      for (const line of lines) {
        options.onLine?.(line);
        // A child that says it is ready while being stopped for being late is not ready: it is going.
        if (found || late) continue;
        const value = options.ready(line);
        if (value === undefined) continue;
        found = true;
        clearTimeout(timer);
        resolve(value);
      }
    });
  });
  return {
    ready,
    child,
    output: () => output,
    stop: (graceMs) => stopProcess(child, graceMs),
    async kill(signal = "SIGKILL") {
      if (gone(child)) return;
      child.kill(signal);
      await exited(child);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// hookd as a process

export type HookdProcess = Child & {
  /** Where it listens, as its "hookd is listening" log line says. */
  url: string;
  /** Its HOOKD_DATA_DIR: a temporary folder, removed once it exits. */
  dataDir: string;
  /** Its log lines at warn level or above (pino levels 40+), as they came; at most 1,000. */
  problems: string[];
};

export type HookdProcessOptions = {
  /** hookd's settings (NATS_URL, HOOKD_KEY, …), over this process's environment. */
  env: Record<string, string>;
  /** Flags for node before the script, e.g. --cpu-prof. */
  nodeArgs?: string[];
  /** Another command instead of Node running src/main.node.ts, e.g. Deno running src/main.deno.ts. */
  command?: string[];
  stderr?: "pipe" | "inherit";
  /** How long it may take to listen (30 s unless told). */
  startTimeoutMs?: number;
};

const LISTENING = /"url":"(http:\/\/[^"]+)".*hookd is listening/;

/** Starts hookd as its own process (npm start's command unless told) and resolves once it listens. */
export async function spawnHookd(options: HookdProcessOptions): Promise<HookdProcess> {
  const dataDir = await mkdtemp(join(tmpdir(), "hookd-data-"));
  const problems: string[] = [];
  const started = await spawnReady({
    what: "hookd",
    command: options.command ?? [process.execPath, ...(options.nodeArgs ?? []), "--import", "tsx", "src/main.node.ts"],
    env: { HOOKD_DATA_DIR: dataDir, HOOKD_LOG_LEVEL: "info", ...options.env },
    stderr: options.stderr,
    ...(options.startTimeoutMs ? { startTimeoutMs: options.startTimeoutMs } : {}),
    ready: (line) => LISTENING.exec(line)?.[1],
    onLine: (line) => {
      if (problems.length < 1_000 && Number(/"level":(\d+)/.exec(line)?.[1] ?? 0) >= 40) problems.push(line);
    },
    onExit: () => void rm(dataDir, { recursive: true, force: true }).catch(() => undefined),
  });
  const { ready: url, ...child } = started;
  return { ...child, url, dataDir, problems };
}

/** The lines of a hookd's output (its log, as far as output() keeps it) that hold `text`. */
export function linesWith(hookd: HookdProcess, text: string): string[] {
  return hookd.output().split("\n").filter((line) => line.includes(text));
}

/** The line every hookd process logs once it listens (boot.ts, announce). */
export const LISTENING_LINE = '"msg":"hookd is listening"';

/**
 * Once `count` of a hookd's processes say they listen (HOOKD_PROCESSES: each says so); throws after
 * `giveUpMs`. A connection reaches only a process that listens, and stays with it.
 */
export async function untilListening(hookd: HookdProcess, count: number, giveUpMs = 30_000): Promise<void> {
  const listening = () => linesWith(hookd, LISTENING_LINE);
  for (const giveUpAt = Date.now() + giveUpMs; listening().length < count;) {
    if (Date.now() > giveUpAt) {
      throw new Error(`${listening().length} of ${count} hookd processes listening after ${giveUpMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The hookd processes hookd's first process forked, from its bundle or its sources (not tsx's helper process). */
export function forkedPids(hookd: HookdProcess): number[] {
  const found = spawnSync("pgrep", ["-P", String(hookd.child.pid), "-f", "serve\\.mjs|main\\.node\\.ts"], {
    encoding: "utf8",
  }).stdout;
  return found.split("\n").filter(Boolean).map(Number);
}
