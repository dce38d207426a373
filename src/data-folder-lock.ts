import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import process from "node:process";

/**
 * One hookd at a time in a data folder where hookd runs its own nats-server: the store and the
 * server's pid file belong to one process. `hookd.lock` holds the owner's pid on its first line
 * and, on Linux, the owner's start time (from /proc) on its second, so a pid that another process
 * reuses after a crash does not pass for the owner. A clean stop removes the file; a start that
 * finds one whose owner is gone (killed, or the machine restarted) takes it over.
 */

export const LOCK_FILE = "hookd.lock";

export class DataFolderInUseError extends Error {
  constructor(readonly dataDir: string, readonly pid: number) {
    super(
      `hookd cannot use the data folder ${dataDir}: hookd pid ${pid} is using it. Stop that one first, or give ` +
        `this one its own HOOKD_DATA_DIR and HOOKD_PORT (if no hookd runs there, remove ${join(dataDir, LOCK_FILE)}).`,
    );
  }
}

export type DataFolderLock = { release(): Promise<void> };

type Owner = { pid: number; started: string | null };

/** The files this process holds, so a second start in one process is refused too, yet a reused pid is not. */
const held = new Set<string>();

export async function lockDataFolder(dataDir: string): Promise<DataFolderLock> {
  await mkdir(dataDir, { recursive: true });
  const file = resolve(dataDir, LOCK_FILE);
  const me: Owner = { pid: process.pid, started: await startTime(process.pid) };
  // A stale file is removed and the create tried again; another start that gets there first wins. Two starts
  // that both find the same stale file within the same moment could both remove it and so both go on.
  for (let tries = 0; tries < 3; tries++) {
    if (await createOnly(file, `${me.pid}\n${me.started ?? ""}\n`)) {
      held.add(file);
      return { release: () => release(file, me.pid) };
    }
    const owner = await readOwner(file);
    if (owner && (await isRunning(owner, file))) throw new DataFolderInUseError(dataDir, owner.pid);
    await rm(file, { force: true });
  }
  throw new DataFolderInUseError(dataDir, (await readOwner(file))?.pid ?? 0);
}

async function createOnly(file: string, text: string): Promise<boolean> {
  try {
    await writeFile(file, text, { flag: "wx" });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  }
}

async function readOwner(file: string): Promise<Owner | null> {
  const [pid, started] = (await readFile(file, "utf8").catch(() => "")).split("\n");
  const number = Number(pid);
  return Number.isInteger(number) && number > 0 ? { pid: number, started: started || null } : null;
}

async function isRunning(owner: Owner, file: string): Promise<boolean> {
  // This process's own pid in the file: held here, or left by an earlier life (a container restarted with the same pid).
  if (owner.pid === process.pid) return held.has(file);
  if (!exists(owner.pid)) return false;
  const started = await startTime(owner.pid);
  return owner.started === null || started === null || started === owner.started;
}

function exists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** When the process started, in clock ticks since boot (field 22 of /proc/<pid>/stat); null off Linux. */
export async function startTime(pid: number): Promise<string | null> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => null);
  if (stat === null) return null;
  // The command name (field 2) is in parentheses and may hold spaces; the fields after it are plain.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return fields[19] ?? null;
}

async function release(file: string, pid: number): Promise<void> {
  held.delete(file);
  // Only our own file: never one that another start took over meanwhile.
  if ((await readOwner(file))?.pid === pid) await rm(file, { force: true });
}
