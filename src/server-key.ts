import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { toHex } from "./domain/bytes.ts";

/** The token key: HOOKD_KEY, or one hookd made earlier and keeps in its data folder. */
export async function loadOrCreateKey(
  dataDir: string,
  configured: string | undefined,
): Promise<{ key: string; generated: boolean }> {
  if (configured) return { key: configured, generated: false };
  const file = join(dataDir, "hookd.key");
  const existing = (await readFile(file, "utf8").catch(() => "")).trim();
  if (existing) return { key: existing, generated: true };
  await mkdir(dataDir, { recursive: true });
  const key = toHex(crypto.getRandomValues(new Uint8Array(32)));
  await writeFile(file, key + "\n", { mode: 0o600, flag: "wx" }).catch(async (error: NodeJS.ErrnoException) => {
    // Another instance sharing the folder won the race: use its key.
    if (error.code !== "EEXIST") throw error;
  });
  return { key: (await readFile(file, "utf8")).trim(), generated: true };
}
