import { type Config, ConfigError, loadConfig } from "./config.ts";
import { createLogger, type Logger } from "./log.ts";
import { NatsServerMissingError } from "./nats/embedded-server.ts";
import { StaticConfigError } from "./domain/static-config.ts";
import { type Hookd, startHookd, type StartOptions } from "./server.ts";
import { signingSecretPath } from "./signing-secret.ts";

/** What both entry points do before and after they serve: config, start, the lines an operator reads. */

export async function boot(
  env: Record<string, string | undefined>,
  exit: (code: number) => never,
  options: StartOptions = {},
): Promise<{ config: Config; log: Logger; hookd: Hookd }> {
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    return exit(2);
  }
  const log = createLogger(config.HOOKD_LOG_LEVEL);
  try {
    return { config, log, hookd: await startHookd(config, log, options) };
  } catch (error) {
    if (error instanceof StaticConfigError) {
      console.error(error.message);
      return exit(2);
    }
    log.fatal({ err: error }, error instanceof NatsServerMissingError ? error.message : "hookd could not start");
    return exit(1);
  }
}

export function announce(
  started: { config: Config; log: Logger; hookd: Hookd },
  address: { host: string; port: number },
  runtime: string,
): void {
  const { config, log, hookd } = started;
  const host = address.host.includes(":") ? `[${address.host}]` : address.host;
  log.info(
    { url: config.HOOKD_PUBLIC_URL ?? `http://${host}:${address.port}`, nats: hookd.natsUrl, runtime },
    "hookd is listening",
  );
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
