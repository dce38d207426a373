import {
  type Authenticator,
  credsAuthenticator,
  nkeyAuthenticator,
  nkeys,
  tokenAuthenticator,
  usernamePasswordAuthenticator,
} from "@nats-io/transport-node";
import type { NodeConnectionOptions } from "@nats-io/transport-node";
import { readFile } from "node:fs/promises";
import { isIP } from "node:net";
import { checkServerIdentity, type PeerCertificate } from "node:tls";
import type { NatsConnectSettings } from "./connect-settings.ts";
import { parseNatsUrl } from "./nats-url.ts";

/**
 * nats.js's connection options from the NATS variables: the servers without credentials, one
 * authenticator, TLS with the files read here (so an unreadable one is named by its variable, not
 * met later as a TLS failure). `authVariable` says which variable the credentials came from, so a
 * refusal can name it.
 */

/** A file a NATS variable names cannot be used: stops the start like a configuration error. */
export class NatsFileError extends Error {
  constructor(variable: string, message: string) {
    super(`hookd's configuration is invalid:\n  ${variable}: ${message}`);
  }
}

export type ConnectPlan = {
  options: Pick<NodeConnectionOptions, "servers" | "authenticator" | "tls">;
  /** Where the credentials came from, or null when hookd connects without any. */
  authVariable: string | null;
  /** Client TLS is configured (a tls:// server or a HOOKD_NATS_TLS_* file). */
  tls: boolean;
  /** HOOKD_NATS_TLS_CERT and _KEY are set. */
  clientCertificate: boolean;
};

async function readSetting(variable: string, path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    const code = (error as { code?: string }).code;
    const why = code === "ENOENT" ? "no such file" : code === "EACCES" ? "hookd may not read it" : code;
    throw new NatsFileError(variable, `cannot read ${path} (${why ?? (error as Error).message})`);
  }
}

async function credsFile(path: string): Promise<Authenticator> {
  const text = await readSetting("HOOKD_NATS_CREDS", path);
  if (!/-----BEGIN NATS USER JWT-----/.test(text) || !/-----BEGIN USER NKEY SEED-----/.test(text)) {
    throw new NatsFileError("HOOKD_NATS_CREDS", `${path} is not a .creds file (a user JWT and its NKey seed)`);
  }
  return credsAuthenticator(new TextEncoder().encode(text));
}

async function nkeySeedFile(path: string): Promise<Authenticator> {
  const seed = (await readSetting("HOOKD_NATS_NKEY", path)).trim();
  try {
    if (!seed.startsWith("SU")) throw new Error("not a user seed");
    nkeys.fromSeed(new TextEncoder().encode(seed));
  } catch {
    throw new NatsFileError("HOOKD_NATS_NKEY", `${path} does not hold a user NKey seed (one line starting SU)`);
  }
  return nkeyAuthenticator(new TextEncoder().encode(seed));
}

async function authenticator(settings: NatsConnectSettings, url: ReturnType<typeof parseNatsUrl>) {
  if (settings.HOOKD_NATS_CREDS) {
    return { variable: "HOOKD_NATS_CREDS", auth: await credsFile(settings.HOOKD_NATS_CREDS) };
  }
  if (settings.HOOKD_NATS_NKEY) {
    return { variable: "HOOKD_NATS_NKEY", auth: await nkeySeedFile(settings.HOOKD_NATS_NKEY) };
  }
  if (settings.HOOKD_NATS_TOKEN) {
    return { variable: "HOOKD_NATS_TOKEN", auth: tokenAuthenticator(settings.HOOKD_NATS_TOKEN) };
  }
  if (url.auth?.kind === "user") {
    return { variable: "NATS_URL", auth: usernamePasswordAuthenticator(url.auth.user, url.auth.pass) };
  }
  if (url.auth?.kind === "token") return { variable: "NATS_URL", auth: tokenAuthenticator(url.auth.token) };
  return null;
}

/**
 * nats.js hands Node no server name for a server given by IP address, so Node checks the certificate
 * against "localhost". For such servers the certificate is checked against the addresses NATS_URL
 * names instead (one of them must be in its IP SANs); host names are checked as usual.
 */
function identityCheck(servers: string[]) {
  const hosts = servers.map((server) => new URL(server).hostname.replace(/^\[|\]$/g, ""));
  const ips = hosts.filter((host) => isIP(host) !== 0);
  if (ips.length === 0) return {};
  return {
    checkServerIdentity(name: string, cert: PeerCertificate): Error | undefined {
      if (name !== "localhost" || hosts.includes("localhost")) return checkServerIdentity(name, cert);
      const failures = ips.map((ip) => checkServerIdentity(ip, cert));
      return failures.includes(undefined) ? undefined : failures[0];
    },
  };
}

export async function connectPlan(settings: NatsConnectSettings & { NATS_URL: string }): Promise<ConnectPlan> {
  const url = parseNatsUrl(settings.NATS_URL);
  const auth = await authenticator(settings, url);
  const ca = settings.HOOKD_NATS_TLS_CA ? await readSetting("HOOKD_NATS_TLS_CA", settings.HOOKD_NATS_TLS_CA) : null;
  const cert = settings.HOOKD_NATS_TLS_CERT
    ? await readSetting("HOOKD_NATS_TLS_CERT", settings.HOOKD_NATS_TLS_CERT)
    : null;
  const key = settings.HOOKD_NATS_TLS_KEY ? await readSetting("HOOKD_NATS_TLS_KEY", settings.HOOKD_NATS_TLS_KEY) : null;
  const tls = url.tls || ca !== null || cert !== null;
  return {
    options: {
      servers: url.servers,
      ...(auth ? { authenticator: auth.auth } : {}),
      ...(tls
        ? { tls: { ...(ca ? { ca } : {}), ...(cert && key ? { cert, key } : {}), ...identityCheck(url.servers) } }
        : {}),
    },
    authVariable: auth?.variable ?? null,
    tls,
    clientCertificate: cert !== null,
  };
}
