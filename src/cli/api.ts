import { PathTokens } from "../domain/path-tokens.ts";
import { loadOrCreateKey } from "../server-key.ts";

/** What every command that talks to hookd shares: where hookd is, which token to send, one API call. */

export type Flags = { url?: string | undefined; token?: string | undefined };

export function baseUrl(flag: string | undefined): string {
  const env = process.env;
  return (flag ?? env.HOOKD_URL ?? env.HOOKD_PUBLIC_URL ?? `http://127.0.0.1:${env.HOOKD_PORT ?? "8080"}`).replace(
    /\/+$/,
    "",
  );
}

export async function serverKey(): Promise<string> {
  const { key } = await loadOrCreateKey(process.env.HOOKD_DATA_DIR ?? "./data", process.env.HOOKD_KEY || undefined);
  return key;
}

export async function keyTokens(): Promise<PathTokens> {
  return new PathTokens(await serverKey());
}

export async function tokenOf(flags: Flags): Promise<string> {
  return flags.token ?? process.env.HOOKD_TOKEN ?? (await (await keyTokens()).tokenFor("/"));
}

/** One API call with the CLI's token; a refusal prints hookd's problem detail. */
export async function call(
  flags: Flags,
  method: string,
  path: string,
  init: { body?: BodyInit; headers?: Record<string, string> } = {},
) {
  const token = await tokenOf(flags);
  let response: Response;
  try {
    response = await fetch(`${baseUrl(flags.url)}${path}`, {
      method,
      body: init.body,
      headers: { authorization: `Bearer ${token}`, ...init.headers },
    });
  } catch (error) {
    process.stderr.write(`could not reach hookd at ${baseUrl(flags.url)}: ${describeFetchError(error)}\n`);
    return { ok: false as const, code: 1, json: null };
  }
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

/** Node's fetch says only "fetch failed"; the reason (ECONNREFUSED, a reset) is in its cause. */
export function describeFetchError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? ` (${error.cause.message})` : "";
  return `${error.message}${cause}`;
}
