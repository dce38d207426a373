import { type Config, ConfigError, loadConfig } from "./config.ts";
import { createLogger, type Logger } from "./log.ts";
import { DataFolderInUseError } from "./data-folder-lock.ts";
import { NatsServerBusyError, NatsServerMissingError } from "./nats/embedded-server.ts";
import { NatsFileError } from "./nats/connect-options.ts";
import { NatsConnectError } from "./nats/connect-refusal.ts";
import { StreamSetupError } from "./nats/ensure-streams.ts";
import { SecretBoxError } from "./domain/secret-box.ts";
import { StaticConfigError } from "./domain/static-config.ts";
import { type Hookd, startHookd, type StartOptions } from "./server.ts";
import { signingSecretPath } from "./signing-secret.ts";

/** What both entry points do before and after they serve: config, start, the lines an operator reads. */

/** What stops a start for a reason the operator fixes: said on one line, in words, with no stack trace. */
const REFUSALS = [
  NatsServerMissingError,
  NatsServerBusyError,
  DataFolderInUseError,
  SecretBoxError,
  NatsConnectError,
  StreamSetupError,
];

/** The configuration, or exit 2 with what is wrong with it (every variable named). */
export function configOrExit(env: Record<string, string | undefined>, exit: (code: number) => never): Config {
  try {
    return loadConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    return exit(2);
  }
}

/**
 * How this process stands among hookd's processes (HOOKD_PROCESSES): `oneProcessRuntime` names a
 * runtime that cannot run more than one (it has no cluster to share the port), which is then refused
 * rather than run as one process; `process` numbers a process the first one forked, on its log lines.
 */
export type ProcessPlace = { oneProcessRuntime?: string; process?: number };

/** Starts hookd in this process. */
export async function boot(
  env: Record<string, string | undefined>,
  exit: (code: number) => never,
  options: StartOptions = {},
  place: ProcessPlace = {},
): Promise<{ config: Config; log: Logger; hookd: Hookd }> {
  // Before the configuration's own checks: what they say of several processes does not apply here.
  if (place.oneProcessRuntime && Number(env.HOOKD_PROCESSES) > 1) {
    console.error(
      `HOOKD_PROCESSES=${env.HOOKD_PROCESSES}: ${place.oneProcessRuntime} runs hookd as one process; ` +
        "run it under Node for several, or start more instances (each on its own port)",
    );
    return exit(2);
  }
  const config = configOrExit(env, exit);
  const log = createLogger(config.HOOKD_LOG_LEVEL, undefined, place.process ? { process: place.process } : {});
  try {
    return { config, log, hookd: await startHookd(config, log, options) };
  } catch (error) {
    if (error instanceof StaticConfigError || error instanceof NatsFileError) {
      console.error(error.message);
      return exit(2);
    }
    if (REFUSALS.some((refusal) => error instanceof refusal)) {
      console.error((error as Error).message);
      return exit(1);
    }
    log.fatal({ err: error }, "hookd could not start");
    return exit(1);
  }
}

/** The HTTP port could not be opened: stop everything start-up started, say why on one line, exit 1. */
export async function failedToListen(
  started: { config: Config; hookd: Hookd },
  error: unknown,
  exit: (code: number) => never,
): Promise<never> {
  await started.hookd.stop();
  console.error(listenFailure(started.config, error));
  return exit(1);
}

/** The one line a failed listen ends hookd with, naming the variable to change. */
export function listenFailure(config: Pick<Config, "HOOKD_HOST" | "HOOKD_PORT">, error: unknown): string {
  const host = config.HOOKD_HOST.includes(":") ? `[${config.HOOKD_HOST}]` : config.HOOKD_HOST;
  const where = `hookd cannot listen on ${host}:${config.HOOKD_PORT}`;
  switch ((error as { code?: unknown } | null)?.code) {
    case "EADDRINUSE":
      return `${where}: the port is taken (HOOKD_PORT=${config.HOOKD_PORT}). Stop what listens there, ` +
        `or set HOOKD_PORT to a free port (0 picks one).`;
    case "EACCES":
      return `${where}: this user may not listen on that port (HOOKD_PORT); use a port above 1023.`;
    case "EADDRNOTAVAIL":
      return `${where}: HOOKD_HOST=${config.HOOKD_HOST} is not an address of this machine.`;
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return `${where}: HOOKD_HOST=${config.HOOKD_HOST} is neither an address nor a name this machine resolves.`;
    default:
      return `${where} (check HOOKD_HOST and HOOKD_PORT): ${error instanceof Error ? error.message : String(error)}`;
  }
}

/**
 * The lines an operator reads once hookd listens. The admin token and the signing secret are the same in
 * every process of HOOKD_PROCESSES, so process 1 alone prints them (as does a hookd of one process).
 */
export function announce(
  started: { config: Config; log: Logger; hookd: Hookd },
  address: { host: string; port: number },
  runtime: string,
  place: ProcessPlace = {},
): void {
  const { config, log, hookd } = started;
  const host = address.host.includes(":") ? `[${address.host}]` : address.host;
  log.info(
    { url: config.HOOKD_PUBLIC_URL ?? `http://${host}:${address.port}`, nats: hookd.natsUrl, runtime },
    "hookd is listening",
  );
  if (place.process !== undefined && place.process !== 1) return;
  if (hookd.generatedAdminToken) {
    log.info(
      { admin_token: hookd.generatedAdminToken, key_file: `${config.HOOKD_DATA_DIR}/hookd.key` },
      "admin token (grants every path); set HOOKD_KEY to use your own key",
    );
  }
  if (hookd.generatedSigningSecret) {
    log.info(
      { signing_secret: hookd.generatedSigningSecret, secret_file: signingSecretPath(config.HOOKD_DATA_DIR) },
      "signing secret for deliveries (the same on every instance on this NATS; hookd secret prints it); " +
        "set HOOKD_SIGNING_SECRET to use your own, or to off to send them unsigned",
    );
  }
}
