import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DataFolderInUseError, LOCK_FILE, lockDataFolder, startTime } from "./data-folder-lock.ts";

/** The data folder's lock, on real files in a temporary folder: who holds it, and when a left-over file is stale. */

let dir: string;
const lockFile = () => join(dir, LOCK_FILE);
const exists = (file: string) => stat(file).then(() => true, () => false);
/** Larger than any pid Linux hands out (pid_max is at most 2^22), so never a live process. */
const DEAD_PID = 4_194_305;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "hookd-lock-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("the data folder lock", () => {
  it("holds this process's pid, refuses a second holder naming that pid, and is gone after release", async () => {
    const lock = await lockDataFolder(dir);
    expect((await readFile(lockFile(), "utf8")).split("\n")[0]).toBe(String(process.pid));

    const second = lockDataFolder(dir);
    await expect(second).rejects.toBeInstanceOf(DataFolderInUseError);
    await expect(second).rejects.toThrow(`hookd pid ${process.pid} is using it`);

    await lock.release();
    expect(await exists(lockFile())).toBe(false);
    await (await lockDataFolder(dir)).release();
  });

  it("takes over a file whose owner has exited", async () => {
    await writeFile(lockFile(), `${DEAD_PID}\n\n`);
    const lock = await lockDataFolder(dir);
    expect((await readFile(lockFile(), "utf8")).split("\n")[0]).toBe(String(process.pid));
    await lock.release();
  });

  it("takes over a file naming this process's pid that this process does not hold (a container restarted)", async () => {
    await writeFile(lockFile(), `${process.pid}\n1\n`);
    await (await lockDataFolder(dir)).release();
  });

  it("takes over a file whose pid now belongs to a process started later, and refuses one whose owner still runs", async () => {
    const initStarted = await startTime(1);
    if (initStarted === null) return; // no /proc: only liveness can be checked
    // pid 1 runs, but it is not the process that wrote this file: that one started a tick later.
    await writeFile(lockFile(), `1\n${Number(initStarted) + 1}\n`);
    await (await lockDataFolder(dir)).release();

    await writeFile(lockFile(), `1\n${initStarted}\n`);
    await expect(lockDataFolder(dir)).rejects.toThrow("hookd pid 1 is using it");
    expect(await readFile(lockFile(), "utf8")).toBe(`1\n${initStarted}\n`);
  });

  it("makes the data folder when it does not exist yet", async () => {
    const lock = await lockDataFolder(join(dir, "new", "data"));
    expect(await exists(join(dir, "new", "data", LOCK_FILE))).toBe(true);
    await lock.release();
  });
});
