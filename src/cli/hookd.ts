import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { parseDuration } from "../domain/duration.ts";
import { RevocableTokens } from "../domain/revocable-tokens.ts";
import { readSigningSecretFile, SIGNING_OFF, signingSecretPath } from "../signing-secret.ts";
import { baseUrl, call, keyTokens, serverKey, tokenOf } from "./api.ts";
import { type CommandHelp, commandHelp, overview } from "./help.ts";
import { createSubscription, deleteSubscription, listSubscriptions } from "./subscriptions.ts";
import { tail } from "./tail.ts";
import { formatTimeline } from "./timeline.ts";

/**
 * hookd's command line. `npx hookd` runs its bundle (dist/cli/hookd.js, see bin/hookd.mjs), so nothing
 * here may import the server at load time: `serve` loads it when asked.
 */

/**
 * The package root. This file is src/cli/hookd.ts and its bundle dist/cli/hookd.js: both two folders
 * down, so the same relative URL finds package.json and the server's sources from either.
 */
const ROOT = new URL("../../", import.meta.url);

const OPTIONS = {
  url: { type: "string" },
  token: { type: "string" },
  json: { type: "boolean" },
  backup: { type: "boolean" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean" },
  type: { type: "string" },
  "content-type": { type: "string" },
  since: { type: "string" },
  topic: { type: "string" },
  dialect: { type: "string" },
  secret: { type: "string" },
  "event-type": { type: "string", multiple: true },
  expires: { type: "string" },
  revocable: { type: "boolean" },
  namespace: { type: "string" },
  domain: { type: "string" },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>["values"];
/** A command's exit code; -1 keeps the process running (serve). */
type Command = CommandHelp & { run(args: string[], values: Values): Promise<number> };

function usageError(message: string): number {
  process.stderr.write(`${message}\n`);
  return 2;
}

/** Hookbot tokens by default; revocable ones with --expires or --revocable. */
async function tokenMaker(values: Values): Promise<(path: string) => Promise<string>> {
  if (values.expires === undefined && !values.revocable) {
    const tokens = await keyTokens();
    return (path) => tokens.tokenFor(path);
  }
  const expiresAt = values.expires === undefined ? null : Date.now() + parseDuration(values.expires);
  const tokens = new RevocableTokens(await serverKey());
  return (path) => tokens.issue(path, expiresAt);
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const COMMANDS: Record<string, Command> = {
  serve: {
    usage: ["serve"],
    summary: "start hookd (what npm start runs after its setup step)",
    details:
      "Reads the same environment variables as npm start (docs/configuration.md) and runs until SIGINT or SIGTERM.",
    async run() {
      // The server's own bundle when current, else its sources (bin/serve.mjs, as npm start runs it); the CLI's
      // bundle leaves it out so that every other command starts fast.
      await import(new URL("bin/serve.mjs", ROOT).href);
      return -1;
    },
  },
  inspect: {
    usage: ["inspect <delivery-id> [--json]"],
    summary: "print a delivery's journal as a timeline",
    remote: true,
    options: [["--json", "print the delivery as GET /api/v1/deliveries/<id> answers it, instead of the timeline"]],
    async run([id], values) {
      if (!id) return usageError("inspect needs a delivery id, e.g. hookd inspect dlv_01J...");
      const result = await call(values, "GET", `/api/v1/deliveries/${encodeURIComponent(id)}`);
      if (!result.ok) return result.code;
      process.stdout.write(values.json ? `${JSON.stringify(result.json)}\n` : `${formatTimeline(result.json)}\n`);
      return 0;
    },
  },
  "make-tokens": {
    usage: ["make-tokens [--expires D | --revocable] <path>..."],
    summary: "print URLs carrying each path's token",
    details: "A token for a path ending in / covers everything below it; the token for / is the admin token. Uses " +
      "HOOKD_KEY, or the key in the data folder (HOOKD_DATA_DIR, default ./data). Without options the tokens are " +
      "Hookbot's, valid until the key changes; with --expires or --revocable they are hkd1.… tokens, which " +
      "hookd revoke can revoke one by one.",
    options: [
      ["--url URL", "the URLs' base (default: as hookd help says)"],
      ["--expires D", "revocable tokens that expire after D (e.g. 30m, 24h, 90d)"],
      ["--revocable", "revocable tokens that never expire"],
    ],
    async run(paths, values) {
      if (paths.length === 0) {
        return usageError("make-tokens needs at least one path, e.g. hookd make-tokens /dispatch /api/v1/deliveries/");
      }
      const bad = paths.find((path) => !path.startsWith("/"));
      if (bad !== undefined) return usageError(`"${bad}" is not a path: paths start with /`);
      const tokenFor = await tokenMaker(values);
      const base = new URL(baseUrl(values.url));
      for (const path of paths) {
        const url = new URL(path, base);
        url.username = await tokenFor(path);
        process.stdout.write(`${url.toString()}\n`);
      }
      return 0;
    },
  },
  revoke: {
    usage: ["revoke <token or token id>..."],
    summary: "revoke revocable tokens on every instance",
    details: "Only hkd1.… tokens (make-tokens --expires or --revocable) can be revoked one by one; Hookbot's " +
      "tokens stop working only when the key changes. Needs the admin token (--token, HOOKD_TOKEN, or the key).",
    remote: true,
    async run(given, values) {
      if (given.length === 0) return usageError("revoke needs a token or token id, e.g. hookd revoke hkd1.…");
      for (const token of given) {
        const result = await call(values, "POST", "/api/v1/tokens/revoke", {
          body: JSON.stringify({ token }),
          headers: { "content-type": "application/json" },
        });
        if (!result.ok) return result.code;
        const until = result.json.expires_at ? ` (it would have expired at ${result.json.expires_at})` : "";
        process.stdout.write(`revoked ${result.json.id}${until}\n`);
      }
      return 0;
    },
  },
  reseal: {
    usage: ["reseal"],
    summary: "seal every stored secret under the current HOOKD_SECRETS_KEY, after rotating it",
    details: "Run it once after restarting every instance with the new HOOKD_SECRETS_KEY and the old key in " +
      "HOOKD_SECRETS_KEY_PREVIOUS. Subscriptions and the shared signing secret are then sealed under the new key; " +
      "deliveries made before keep the old key's seal until their journal expires, so keep the old key until the " +
      "date printed if you may still retry them. Needs the admin token (--token, HOOKD_TOKEN, or the key).",
    remote: true,
    async run(given, values) {
      if (given.length > 0) return usageError("reseal takes no arguments");
      const result = await call(values, "POST", "/api/v1/secrets/reseal");
      if (!result.ok) return result.code;
      const report = result.json;
      process.stdout.write(
        `sealed under key ${report.key_id}: ${report.subscriptions.resealed} of ${report.subscriptions.checked} ` +
          `subscriptions re-sealed; signing secret: ${report.signing_secret}\n` +
          `deliveries made before now may need the previous keys until ${report.previous_keys_needed_until}\n`,
      );
      return 0;
    },
  },
  secret: {
    usage: ["secret"],
    summary: "print the secret deliveries are signed with, for receivers",
    details: "A Standard Webhooks secret (whsec_…): HOOKD_SIGNING_SECRET when it is set; otherwise the one hookd " +
      "made at its first start, which every instance on the same NATS shares, read from the data folder " +
      "(HOOKD_DATA_DIR, default ./data).",
    async run() {
      const configured = process.env.HOOKD_SIGNING_SECRET;
      if (configured === SIGNING_OFF) {
        process.stderr.write(
          "signing is off (HOOKD_SIGNING_SECRET=off): deliveries without a secret go out unsigned\n",
        );
        return 1;
      }
      const dataDir = process.env.HOOKD_DATA_DIR || "./data";
      const secret = configured || (await readSigningSecretFile(dataDir));
      if (!secret) {
        process.stderr.write(
          `no signing secret in ${signingSecretPath(dataDir)}: hookd makes it at its first start there ` +
            "(run this where hookd runs, or set HOOKD_DATA_DIR to its data folder)\n",
        );
        return 1;
      }
      process.stdout.write(`${secret}\n`);
      return 0;
    },
  },
  publish: {
    usage: ["publish <topic> [file] [--type T] [--content-type C]"],
    summary: "publish a file (or standard input) to a topic",
    details: "Prints the event's id and sequence.",
    remote: true,
    options: [
      ["--type T", "the event type (e.g. contact.create)"],
      ["--content-type C", "the body's content type (default application/octet-stream, application/json for .json)"],
    ],
    async run([topic, file], values) {
      if (!topic) return usageError("publish needs a topic, e.g. hookd publish orders/created event.json");
      const body = new Uint8Array(file ? await readFile(file) : await readStdin());
      const contentType = values["content-type"] ??
        (file?.endsWith(".json") ? "application/json" : "application/octet-stream");
      const query = values.type ? `?type=${encodeURIComponent(values.type)}` : "";
      const path = `/pub/${topic.split("/").map(encodeURIComponent).join("/")}${query}`;
      const result = await call(values, "POST", path, { body, headers: { "content-type": contentType } });
      if (!result.ok) return result.code;
      process.stdout.write(`${result.json.id} seq ${result.json.seq}\n`);
      return 0;
    },
  },
  tail: {
    usage: ["tail <topic> [--since X] [--json]"],
    summary: "print a topic's messages as they arrive",
    details: "Prints <seq> <topic> <type> <body> per message, resumes across reconnects, and stops on Ctrl-C. " +
      "A topic ending in / reads every topic below it.",
    remote: true,
    options: [
      ["--since X", 'start after sequence X, at an ISO 8601 time, or "now" (the default)'],
      ["--json", "print each message's JSON envelope instead"],
    ],
    async run([topic], values) {
      if (!topic) return usageError("tail needs a topic, e.g. hookd tail shop/orders --since 0");
      const token = await tokenOf(values);
      return tail({ baseUrl: baseUrl(values.url), topic, token, since: values.since, json: values.json ?? false });
    },
  },
  subscriptions: {
    usage: [
      "subscriptions list [--topic T] [--json]",
      "subscriptions create <topic> <url> [--dialect D] [--secret S] [--event-type T]...",
      "subscriptions delete <id>",
    ],
    summary: "list, create or delete subscriptions",
    synopsis: "subscriptions list|create|delete",
    remote: true,
    options: [
      ["--topic T", "list: only the subscriptions to topic T"],
      ["--json", "list: print hookd's JSON answer"],
      ["--dialect D", "create: standard-webhooks (the default), websub or plain"],
      ["--secret S", "create: the signing secret (default: hookd makes one and prints it once)"],
      ["--event-type T", "create: deliver only events of type T (repeat for several)"],
    ],
    async run([action, ...args], values) {
      if (action === "list" && args.length === 0) return listSubscriptions(values);
      if (action === "create" && args.length === 2) return createSubscription(args[0]!, args[1]!, values);
      if (action === "delete" && args.length === 1) return deleteSubscription(args[0]!, values);
      process.stderr.write(commandHelp(COMMANDS.subscriptions!));
      return 2;
    },
  },
  "nats-permissions": {
    usage: ["nats-permissions [--namespace N] [--domain D] [--backup] [--json]"],
    summary: "print the NATS permissions hookd's user needs (a nats-server config block)",
    details: "Exactly the subjects hookd publishes and subscribes to: its streams' subjects, the JetStream API " +
      "for its streams, acks and flow control on them, and its inboxes. docs/nats.md says where the block goes.",
    options: [
      ["--namespace N", "hookd's namespace (default: HOOKD_NAMESPACE, else hookd)"],
      ["--domain D", "the JetStream domain hookd uses (default: HOOKD_JS_DOMAIN, else none)"],
      ["--backup", "the permissions of a user for hookd backup and hookd restore instead"],
      ["--json", "print the lists as JSON: {publish, subscribe}"],
    ],
    async run(args, values) {
      if (args.length > 0) return usageError("nats-permissions takes no arguments, only --namespace and --domain");
      // Loaded when asked, like serve: the layout it derives the subjects from is part of the server.
      if (!import.meta.url.endsWith(".ts")) (await import("tsx/esm/api")).register();
      const { backupPermissions, natsPermissions, permissionsText } = (await import(
        new URL("src/nats/permissions.ts", ROOT).href
      )) as typeof import("../nats/permissions.ts");
      const options = {
        namespace: values.namespace ?? (process.env.HOOKD_NAMESPACE || undefined),
        domain: values.domain ?? (process.env.HOOKD_JS_DOMAIN || undefined),
      };
      const backup = values.backup ?? false;
      const lists = backup ? backupPermissions(options) : natsPermissions(options);
      process.stdout.write(
        values.json ? `${JSON.stringify(lists, null, 2)}\n` : permissionsText({ ...options, backup }),
      );
      return 0;
    },
  },
  backup: {
    usage: ["backup <dir>"],
    summary: "snapshot every stream of hookd's namespace into a new folder",
    details: "Connects as hookd does (NATS_URL, its credentials and TLS, HOOKD_NAMESPACE, HOOKD_JS_DOMAIN) and " +
      "writes <dir>/<STREAM>/backup.json and stream.tar.s2 for each stream, consumers included. hookd may run: " +
      "upstream streams are snapshotted first, so nothing accepted is lost, but work that moved on during the backup " +
      "may be done again and a delivery may show an earlier state. docs/deploy.md#back-up-and-restore says more.",
    async run(args) {
      if (args.length !== 1) return usageError("backup needs one folder, e.g. hookd backup ./hookd-backup");
      return streamBackup("backup", args[0]!);
    },
  },
  restore: {
    usage: ["restore <dir>"],
    summary: "restore hookd's streams from a backup onto a NATS without them",
    details: "Reads what hookd backup wrote and restores each stream of hookd's namespace (HOOKD_NAMESPACE) through " +
      "JetStream; refuses, before restoring anything, when one of them already exists. Stop hookd first.",
    async run(args) {
      if (args.length !== 1) return usageError("restore needs the backup's folder, e.g. hookd restore ./hookd-backup");
      return streamBackup("restore", args[0]!);
    },
  },
  help: {
    usage: ["help [command]"],
    summary: "print this overview, or a command's usage and options",
    async run([name]) {
      if (name === undefined) {
        process.stdout.write(overview(COMMANDS));
        return 0;
      }
      return printHelp(name);
    },
  },
};

/** backup and restore load the server's NATS modules when asked, as nats-permissions does. */
async function streamBackup(action: "backup" | "restore", dir: string): Promise<number> {
  if (!import.meta.url.endsWith(".ts")) (await import("tsx/esm/api")).register();
  const module = (await import(new URL("src/cli/stream-backup.ts", ROOT).href)) as typeof import("./stream-backup.ts");
  try {
    await module[action](dir, (line) => process.stdout.write(`${line}\n`));
    return 0;
  } catch (error) {
    if (!(error instanceof module.BackupError)) throw error;
    process.stderr.write(`hookd ${action}: ${error.message}\n`);
    return 1;
  }
}

function printHelp(name: string): number {
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) return usageError(`unknown command "${name}"; hookd help lists the commands`);
  process.stdout.write(commandHelp(command));
  return 0;
}

async function version(): Promise<string> {
  const pkg = JSON.parse(await readFile(new URL("package.json", ROOT), "utf8")) as { version: string };
  return pkg.version;
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: OPTIONS });
  const [name, ...rest] = positionals;
  if (values.version) {
    process.stdout.write(`hookd ${await version()}\n`);
    return 0;
  }
  if (name === undefined && values.help) {
    process.stdout.write(overview(COMMANDS));
    return 0;
  }
  if (name === undefined) {
    process.stderr.write(overview(COMMANDS));
    return 2;
  }
  if (values.help) return name === "help" ? printHelp(rest[0] ?? "help") : printHelp(name);
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) return usageError(`unknown command "${name}"; hookd help lists the commands`);
  return command.run(rest, values);
}

/** parseArgs refuses an unknown option or a missing value with a TypeError carrying one of these codes. */
const isArgumentError = (error: unknown) => /^ERR_PARSE_ARGS_/.test((error as { code?: string }).code ?? "");

const code = await main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`hookd: ${(error as Error).message}\n`);
  if (isArgumentError(error)) process.stderr.write("hookd help <command> lists a command's options\n");
  return isArgumentError(error) ? 2 : 1;
});
if (code >= 0) process.exit(code);
