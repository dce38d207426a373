import { jetstreamManager, StorageType } from "@nats-io/jetstream";
import { createReadStream } from "node:fs";
import { mkdir, open, readdir, readFile, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { ConfigError, loadConfig } from "../config.ts";
import { createLogger } from "../log.ts";
import { connectPlan, NatsFileError } from "../nats/connect-options.ts";
import { NatsConnectError } from "../nats/connect-refusal.ts";
import { type NatsLink, openNats } from "../nats/connection.ts";
import { createLayout } from "../nats/layout.ts";
import { displayNatsUrl } from "../nats/nats-url.ts";
import {
  jetStreamApi,
  restoreStream,
  SnapshotError,
  type SnapshotMeta,
  snapshotStream,
} from "../nats/stream-snapshot.ts";

/**
 * `hookd backup <dir>` and `hookd restore <dir>`: every stream of hookd's namespace
 * (HOOKD_NAMESPACE) snapshotted by NATS into `<dir>/<STREAM>/` (backup.json: its config and state;
 * stream.tar.s2: the snapshot as the server made it, consumers included), and restored from there
 * onto a NATS that does not have them. hookd's own settings say where NATS is (NATS_URL, its
 * credentials, TLS, HOOKD_JS_DOMAIN). Loaded by src/cli/hookd.ts only when asked: it needs the server's modules.
 */

const META_FILE = "backup.json";
const DATA_FILE = "stream.tar.s2";
/** Written last, once every stream is saved: a folder without it is a backup that broke off. */
const MANIFEST_FILE = "manifest.json";

type Session = { link: NatsLink; api: string; domain?: string; streams: readonly string[]; where: string };

/** What the operator fixes, said on one line: the CLI prints it without a stack trace. */
export class BackupError extends Error {}

/** NATS refused this user a subject: the fix is the backup user's permissions, not hookd's. */
function permissionRefusal(error: unknown): never {
  const text = String((error as Error)?.message ?? error);
  if (!/permissions violation/i.test(text)) throw error;
  throw new BackupError(
    `NATS refused this user: ${text}. Run backup and restore as a user with what ` +
      "hookd nats-permissions --backup prints (docs/deploy.md#back-up-and-restore)",
  );
}

async function session(): Promise<Session> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) throw new BackupError(error.message);
    throw error;
  }
  if (!config.NATS_URL) {
    throw new BackupError("backup and restore need NATS_URL: the NATS hookd runs on, as hookd's environment sets it");
  }
  const display = displayNatsUrl(config.NATS_URL);
  try {
    const plan = await connectPlan({ ...config, NATS_URL: config.NATS_URL });
    // Not "warn": the connection's own permission warning names hookd's permissions; permissionRefusal says the right ones.
    const log = createLogger("fatal", process.stderr);
    const link = await openNats(plan, `hookd-backup@${hostname()}`, {
      timeoutMs: config.HOOKD_NATS_CONNECT_TIMEOUT,
      log,
      display,
    });
    const layout = createLayout({ namespace: config.HOOKD_NAMESPACE });
    const domain = config.HOOKD_JS_DOMAIN;
    const where = `HOOKD_NAMESPACE=${config.HOOKD_NAMESPACE}, NATS_URL=${display}` +
      (domain ? `, HOOKD_JS_DOMAIN=${domain}` : ", no HOOKD_JS_DOMAIN");
    return { link, api: jetStreamApi(domain), domain, streams: layout.backupOrder, where };
  } catch (error) {
    if (error instanceof NatsConnectError || error instanceof NatsFileError) throw new BackupError(error.message);
    throw error;
  }
}

/** JetStream's API for hookd's domain: listing and info must ask the same JetStream the snapshots come from. */
const managerOf = (link: NatsLink, domain?: string) => jetstreamManager(link.nc, domain ? { domain } : {});

/**
 * Writes a snapshot of every stream of the namespace into `dir`, which must be new or empty. Upstream
 * streams first (layout.backupOrder), so a backup taken while hookd runs loses no accepted work.
 */
export async function backup(dir: string, say: (line: string) => void): Promise<void> {
  return await backupAll(dir, say).catch(permissionRefusal);
}

// Long: one loop over the streams, each skipped, refused or saved with its own line for the operator.
async function backupAll(dir: string, say: (line: string) => void): Promise<void> {
  const { link, api, domain, streams, where } = await session();
  try {
    await mkdir(dir, { recursive: true });
    if ((await readdir(dir)).length > 0) throw new BackupError(`${dir} is not empty: back up into a new folder`);
    const jsm = await managerOf(link, domain);
    const existing = new Set<string>();
    for await (const name of jsm.streams.names()) existing.add(name);
    // Nothing to back up is a wrong setting, not an empty deployment: hookd makes its streams at start.
    if (!streams.some((stream) => existing.has(stream))) {
      throw new BackupError(
        `no stream of this namespace on this NATS (${where}): check HOOKD_NAMESPACE, NATS_URL and HOOKD_JS_DOMAIN`,
      );
    }
    const saved: string[] = [];
    for (const stream of streams) {
      if (!existing.has(stream)) {
        say(`${stream}: not on this NATS, skipped`);
        continue;
      }
      // JetStream snapshots file-stored streams only; the one in memory (rate limits' next free slots) starts empty.
      if ((await jsm.streams.info(stream)).config.storage === StorageType.Memory) {
        say(`${stream}: kept in memory, skipped (hookd makes it again at start)`);
        continue;
      }
      await mkdir(join(dir, stream));
      const file = await open(join(dir, stream, DATA_FILE), "w");
      try {
        const meta = await snapshotStream(link.nc, api, stream, async (chunk) => void (await file.write(chunk)));
        await writeFile(join(dir, stream, META_FILE), `${JSON.stringify(meta, null, 2)}\n`);
        const state = meta.state as { messages?: number; bytes?: number };
        say(`${stream}: ${state.messages ?? 0} messages, ${state.bytes ?? 0} bytes`);
        saved.push(stream);
      } catch (error) {
        if (error instanceof SnapshotError) throw new BackupError(error.message);
        throw error;
      } finally {
        await file.close();
      }
    }
    await writeFile(join(dir, MANIFEST_FILE), `${JSON.stringify({ streams: saved }, null, 2)}\n`);
  } finally {
    await link.close();
  }
}

/** The streams a complete backup in `dir` holds, from its manifest. */
async function manifestOf(dir: string): Promise<string[]> {
  const text = await readFile(join(dir, MANIFEST_FILE), "utf8").catch(() => null);
  if (text === null) {
    throw new BackupError(
      `${dir} has no ${MANIFEST_FILE}: it is not a backup, or one that broke off before its last stream; ` +
        "restore from a complete backup",
    );
  }
  return (JSON.parse(text) as { streams: string[] }).streams;
}

/** Restores every stream backed up in `dir`; refuses before restoring anything if one of them exists. */
export async function restore(dir: string, say: (line: string) => void): Promise<void> {
  return await restoreAll(dir, say).catch(permissionRefusal);
}

// Long: the checks before anything is restored, then the restore and its undoing on failure.
async function restoreAll(dir: string, say: (line: string) => void): Promise<void> {
  const { link, api, domain, streams } = await session();
  try {
    const jsm = await managerOf(link, domain);
    const existing = new Set<string>();
    for await (const name of jsm.streams.names()) existing.add(name);
    const listed = await manifestOf(dir);
    const found = streams.filter((stream) => listed.includes(stream));
    if (found.length === 0) throw new BackupError(`${dir} holds no backup of this namespace's streams`);
    const clash = found.filter((stream) => existing.has(stream));
    if (clash.length > 0) {
      throw new BackupError(
        `${clash.join(", ")} already exist on this NATS: restore onto a NATS without them (stop hookd first, ` +
          "and delete the streams if you mean to replace them)",
      );
    }
    const restored: string[] = [];
    try {
      for (const stream of found) {
        const meta = JSON.parse(await readFile(join(dir, stream, META_FILE), "utf8")) as SnapshotMeta;
        await restoreStream(link.nc, api, meta, createReadStream(join(dir, stream, DATA_FILE)));
        restored.push(stream);
        const state = meta.state as { messages?: number };
        say(`${stream}: restored, ${state.messages ?? 0} messages`);
      }
    } catch (error) {
      // Half a restore is worse than none: hookd would start on some streams and make the others empty.
      const left: string[] = [];
      for (const stream of restored) await jsm.streams.delete(stream).catch(() => left.push(stream));
      const undone = restored.length === 0
        ? ""
        : left.length === 0
        ? `; removed the streams it had restored (${restored.join(", ")})`
        : `; could not remove ${left.join(", ")}: delete them (docs/deploy.md#back-up-and-restore) before trying again`;
      throw new BackupError(`restore failed: ${String((error as Error)?.message ?? error)}${undone}`);
    }
  } finally {
    await link.close();
  }
}
