import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";

/**
 * scripts/setup.sh as `npm run bench:dispatch` and `npm start` run it, in a copy of the repository's
 * layout whose dependencies are installed already (the lock's sum matches) and nats-server is there,
 * on a PATH of its own: wrk is missing, the user is root (`id -u` says 0), and apt-get is a stand-in
 * that logs its calls and fails when told to (as it does on a machine without network).
 */

const root = resolve(import.meta.dirname, "..");
const made: string[] = [];

afterEach(async () => {
  for (const dir of made.splice(0)) await rm(dir, { recursive: true, force: true });
});

function which(name: string): string {
  const found = spawnSync("bash", ["-c", `command -v ${name}`], { encoding: "utf8" }).stdout.trim();
  if (!found) throw new Error(`${name} is not on this machine's PATH`);
  return found;
}

async function script(path: string, text: string): Promise<void> {
  await writeFile(path, `#!/bin/bash\n${text}\n`);
  await chmod(path, 0o755);
}

/** Runs the copied setup.sh with `args`; apt-get fails on `update` when `aptFails`. */
async function runSetup(args: string[], aptFails: boolean) {
  const dir = await mkdtemp(join(tmpdir(), "hookd-setup-"));
  made.push(dir);
  const bin = join(dir, "bin");
  await mkdir(join(dir, "scripts"), { recursive: true });
  await mkdir(join(dir, "node_modules"));
  await mkdir(bin);
  await copyFile(join(root, "scripts/setup.sh"), join(dir, "scripts/setup.sh"));
  const lock = '{"lockfileVersion":3}\n';
  await writeFile(join(dir, "package-lock.json"), lock);
  await writeFile(join(dir, "node_modules/.hookd-lock-sum"), createHash("sha256").update(lock).digest("hex") + "\n");
  await symlink(process.execPath, join(bin, "node"));
  for (const tool of ["dirname", "sha256sum", "cut", "cat"]) await symlink(which(tool), join(bin, tool));
  const log = join(dir, "apt-get.log");
  await script(join(bin, "id"), "echo 0");
  await script(join(bin, "nats-server"), "exit 0");
  await script(
    join(bin, "apt-get"),
    `echo "$*" >> ${JSON.stringify(log)}\n${aptFails ? '[ "$1" = update ] && exit 100' : ""}\nexit 0`,
  );
  const run = spawnSync(which("bash"), [join(dir, "scripts/setup.sh"), ...args], {
    encoding: "utf8",
    env: { PATH: bin, HOME: dir },
  });
  const calls = await readFile(log, "utf8").catch(() => "");
  return { status: run.status, stderr: run.stderr, calls };
}

describe("scripts/setup.sh", () => {
  it("--for-bench installs wrk when it can, and falls back to autocannon when apt-get cannot reach its lists", async () => {
    const installed = await runSetup(["--for-bench"], false);
    expect(installed.status, installed.stderr).toBe(0);
    expect(installed.calls).toContain("install -y -qq wrk");

    // No network: the update fails. The bench still runs (npm run bench:dispatch chains it with &&).
    const offline = await runSetup(["--for-bench"], true);
    expect(offline.status, offline.stderr).toBe(0);
    expect(offline.stderr).toContain("wrk could not be installed; the bench uses autocannon");
    expect(offline.calls).not.toContain("install");
  });

  it("with no argument installs nothing for the bench, as before --for-bench existed", async () => {
    const plain = await runSetup([], true);
    expect(plain.status, plain.stderr).toBe(0);
    expect(plain.calls).toBe("");
    expect(plain.stderr).toBe("");
  });
});
