import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { PathTokens } from "../domain/path-tokens.ts";
import { loadOrCreateKey } from "../server-key.ts";
import { tail } from "./tail.ts";
import { formatTimeline } from "./timeline.ts";

/** hookd's command line: serve, inspect a delivery, make tokens. */

const USAGE = `usage: hookd <command> [options]

commands:
  serve                       start hookd (same as npm start)
  inspect <delivery-id>       print a delivery's journal as a timeline
  make-tokens <path>...       print URLs carrying the token for each path (a path ending in / covers everything below)
  publish <topic> [file]      publish a file (or standard input) to a topic; prints the event id and sequence
  tail <topic> [--since X]    print a topic's messages as they arrive (<seq> <topic> <type> <body>, or --json); a topic ending in / reads every topic below it
  subscriptions list [--topic T]
  subscriptions create <topic> <url> [--dialect D] [--secret S] [--event-type T]...
  subscriptions delete <id>

options:
  --url URL      hookd's base URL (default: HOOKD_URL, HOOKD_PUBLIC_URL, or http://127.0.0.1:$HOOKD_PORT)
  --token TOKEN  token to use (default: HOOKD_TOKEN, else the admin token from HOOKD_KEY or the data folder's key)
  --json         inspect: print the raw JSON instead of the timeline; tail: print each message's JSON envelope
  --since X      tail: start after sequence X, at an ISO 8601 time, or "now" (the default)
  --type T       publish: the event type (e.g. contact.create)
  --content-type publish: the body's content type (default application/octet-stream, or application/json for .json files)
`;

function baseUrl(flag: string | undefined): string {
  const env = process.env;
  return (flag ?? env.HOOKD_URL ?? env.HOOKD_PUBLIC_URL ?? `http://127.0.0.1:${env.HOOKD_PORT ?? "8080"}`).replace(
    /\/+$/,
    "",
  );
}

async function keyTokens(): Promise<PathTokens> {
  const { key } = await loadOrCreateKey(process.env.HOOKD_DATA_DIR ?? "./data", process.env.HOOKD_KEY || undefined);
  return new PathTokens(key);
}

type Flags = { url?: string | undefined; token?: string | undefined };

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function tokenOf(flags: Flags): Promise<string> {
  return flags.token ?? process.env.HOOKD_TOKEN ?? (await (await keyTokens()).tokenFor("/"));
}

/** One API call with the CLI's token; a refusal prints hookd's problem detail. */
async function call(
  flags: Flags,
  method: string,
  path: string,
  init: { body?: BodyInit; headers?: Record<string, string> } = {},
) {
  const token = await tokenOf(flags);
  const response = await fetch(`${baseUrl(flags.url)}${path}`, {
    method,
    body: init.body,
    headers: { authorization: `Bearer ${token}`, ...init.headers },
  });
  const text = await response.text();
  // deno-lint-ignore no-explicit-any -- whatever JSON hookd answered; each command reads the fields it prints
  let json: any = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: reported below as is
  }
  if (!response.ok) {
    process.stderr.write(`hookd answered ${response.status}: ${json?.detail ?? text}\n`);
    return { ok: false as const, code: 1, json };
  }
  return { ok: true as const, code: 0, json };
}

const OPTIONS = {
  url: { type: "string" },
  token: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
  type: { type: "string" },
  "content-type": { type: "string" },
  since: { type: "string" },
  topic: { type: "string" },
  dialect: { type: "string" },
  secret: { type: "string" },
  "event-type": { type: "string", multiple: true },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>["values"];
/** A command's exit code; -1 keeps the process running (serve). */
type Command = (args: string[], values: Values) => Promise<number>;

function usageError(message: string): number {
  process.stderr.write(`${message}\n`);
  return 2;
}

const COMMANDS: Record<string, Command> = {
  async serve() {
    await import("../main.node.ts");
    return -1;
  },
  async "make-tokens"(paths, values) {
    if (paths.length === 0) {
      return usageError("make-tokens needs at least one path, e.g. hookd make-tokens /dispatch /api/v1/deliveries/");
    }
    const bad = paths.find((path) => !path.startsWith("/"));
    if (bad !== undefined) return usageError(`"${bad}" is not a path: paths start with /`);
    const tokens = await keyTokens();
    const base = new URL(baseUrl(values.url));
    for (const path of paths) {
      const url = new URL(path, base);
      url.username = await tokens.tokenFor(path);
      process.stdout.write(`${url.toString()}\n`);
    }
    return 0;
  },
  async inspect([id], values) {
    if (!id) return usageError("inspect needs a delivery id, e.g. hookd inspect dlv_01J...");
    const result = await call(values, "GET", `/api/v1/deliveries/${encodeURIComponent(id)}`);
    if (!result.ok) return result.code;
    process.stdout.write(values.json ? `${JSON.stringify(result.json)}\n` : `${formatTimeline(result.json)}\n`);
    return 0;
  },
  async publish([topic, file], values) {
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
  async tail([topic], values) {
    if (!topic) return usageError("tail needs a topic, e.g. hookd tail shop/orders --since 0");
    const token = await tokenOf(values);
    return tail({ baseUrl: baseUrl(values.url), topic, token, since: values.since, json: values.json ?? false });
  },
  async subscriptions([action, ...args], values) {
    if (action === "list") return listSubscriptions(values);
    if (action === "create" && args.length === 2) return createSubscription(args[0]!, args[1]!, values);
    if (action === "delete" && args.length === 1) return deleteSubscription(args[0]!, values);
    return usageError(
      "usage: hookd subscriptions list [--topic T] | " +
        "create <topic> <url> [--dialect D] [--secret S] [--event-type T]... | delete <id>",
    );
  },
};

async function listSubscriptions(values: Values): Promise<number> {
  const query = values.topic ? `?topic=${encodeURIComponent(values.topic)}&limit=100` : "?limit=100";
  const result = await call(values, "GET", `/api/v1/subscriptions${query}`);
  if (!result.ok) return result.code;
  if (values.json) {
    process.stdout.write(`${JSON.stringify(result.json, null, 2)}\n`);
    return 0;
  }
  for (const s of result.json.data) {
    const status = s.status_message ? `  (${s.status_message})` : "";
    process.stdout.write(`${s.id}  ${s.state.padEnd(12)} ${s.topic}  →  ${s.url}${status}\n`);
  }
  return 0;
}

async function createSubscription(topic: string, url: string, values: Values): Promise<number> {
  const body = {
    topic,
    url,
    ...(values.dialect ? { dialect: values.dialect } : {}),
    ...(values.secret ? { secret: values.secret } : {}),
    ...(values["event-type"] ? { event_types: values["event-type"] } : {}),
  };
  const headers = { "content-type": "application/json" };
  const result = await call(values, "POST", "/api/v1/subscriptions", { body: JSON.stringify(body), headers });
  if (!result.ok) return result.code;
  process.stdout.write(`${result.json.id}  ${result.json.state}  ${result.json.topic}  →  ${result.json.url}\n`);
  if (result.json.secret) process.stdout.write(`secret (shown once): ${result.json.secret}\n`);
  return 0;
}

async function deleteSubscription(id: string, values: Values): Promise<number> {
  const result = await call(values, "DELETE", `/api/v1/subscriptions/${encodeURIComponent(id)}`);
  if (!result.ok) return result.code;
  process.stdout.write(`${id} unsubscribed\n`);
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: OPTIONS });
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    process.stdout.write(USAGE);
    return command || values.help ? 0 : 2;
  }
  const run = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (!run) {
    process.stderr.write(`unknown command "${command}"\n${USAGE}`);
    return 2;
  }
  return run(rest, values);
}

const code = await main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`hookd: ${(error as Error).message}\n`);
  return 1;
});
if (code >= 0) process.exit(code);
