import { readdir, readFile } from "node:fs/promises";

/**
 * What a test started and must be gone: every process whose command line or environment names a
 * text, such as the test's own temporary data folder. hookd's environment holds HOOKD_DATA_DIR, and
 * npm, its shell, the embedded nats-server and its watchdog inherit it; nats-server's command line
 * names its config file in the folder too. Only node: modules, so Deno's tests may import it.
 */

export type Leftover = { pid: number; command: string };

export async function processesNaming(text: string): Promise<Leftover[]> {
  const found: Leftover[] = [];
  for (const name of await readdir("/proc")) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
    const environ = await readFile(`/proc/${pid}/environ`, "utf8").catch(() => "");
    if (cmdline.includes(text) || environ.split("\0").some((entry) => entry.includes(text))) {
      found.push({ pid, command: cmdline.replaceAll("\0", " ").trim() });
    }
  }
  return found;
}

/** Polls until nothing names `text`, or `timeoutMs` passes; resolves with what is left (empty when all is gone). */
export async function untilNoneNaming(text: string, timeoutMs = 15_000): Promise<Leftover[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = await processesNaming(text);
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** SIGKILL for each, for a test's teardown after it failed to stop them cleanly. */
export function killAll(leftovers: Leftover[]): void {
  for (const { pid } of leftovers) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone already
    }
  }
}
