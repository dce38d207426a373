import { parseArgs } from "node:util";
import { PathTokens } from "../domain/path-tokens.ts";
import { loadOrCreateKey } from "../server-key.ts";
import { formatTimeline } from "./timeline.ts";

/** hookd's command line: serve, inspect a delivery, make tokens. */

const USAGE = `usage: hookd <command> [options]

commands:
  serve                       start hookd (same as npm start)
  inspect <delivery-id>       print a delivery's journal as a timeline
  make-tokens <path>...       print URLs carrying the token for each path (a path ending in / covers everything below)

options:
  --url URL      hookd's base URL (default: HOOKD_URL, HOOKD_PUBLIC_URL, or http://127.0.0.1:$HOOKD_PORT)
  --token TOKEN  token to use (default: HOOKD_TOKEN, else the admin token from HOOKD_KEY or the data folder's key)
  --json         inspect: print the raw JSON instead of the timeline
`;

function baseUrl(flag: string | undefined): string {
  const env = process.env;
  return (flag ?? env.HOOKD_URL ?? env.HOOKD_PUBLIC_URL ?? `http://127.0.0.1:${env.HOOKD_PORT ?? "8080"}`).replace(/\/+$/, "");
}

async function keyTokens(): Promise<PathTokens> {
  const { key } = await loadOrCreateKey(process.env.HOOKD_DATA_DIR ?? "./data", process.env.HOOKD_KEY || undefined);
  return new PathTokens(key);
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { url: { type: "string" }, token: { type: "string" }, json: { type: "boolean" }, help: { type: "boolean", short: "h" } },
  });
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    process.stdout.write(USAGE);
    return command || values.help ? 0 : 2;
  }
  switch (command) {
    case "serve":
      await import("../main.node.ts");
      return -1;
    case "make-tokens": {
      if (rest.length === 0) {
        process.stderr.write("make-tokens needs at least one path, e.g. hookd make-tokens /dispatch /api/v1/deliveries/\n");
        return 2;
      }
      const tokens = await keyTokens();
      const base = new URL(baseUrl(values.url));
      for (const path of rest) {
        if (!path.startsWith("/")) {
          process.stderr.write(`"${path}" is not a path: paths start with /\n`);
          return 2;
        }
        const url = new URL(path, base);
        url.username = await tokens.tokenFor(path);
        process.stdout.write(`${url.toString()}\n`);
      }
      return 0;
    }
    case "inspect": {
      const id = rest[0];
      if (!id) {
        process.stderr.write("inspect needs a delivery id, e.g. hookd inspect dlv_01J...\n");
        return 2;
      }
      const token = values.token ?? process.env.HOOKD_TOKEN ?? (await (await keyTokens()).tokenFor("/"));
      const response = await fetch(`${baseUrl(values.url)}/api/v1/deliveries/${encodeURIComponent(id)}`, { headers: { authorization: `Bearer ${token}` } });
      const body = await response.text();
      if (!response.ok) {
        let detail = body;
        try {
          detail = (JSON.parse(body) as { detail?: string }).detail ?? body;
        } catch {
          // not problem+json: print as is
        }
        process.stderr.write(`hookd answered ${response.status}: ${detail}\n`);
        return 1;
      }
      process.stdout.write(values.json ? `${body}\n` : `${formatTimeline(JSON.parse(body))}\n`);
      return 0;
    }
    default:
      process.stderr.write(`unknown command "${command}"\n${USAGE}`);
      return 2;
  }
}

const code = await main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`hookd: ${(error as Error).message}\n`);
  return 1;
});
if (code >= 0) process.exit(code);
