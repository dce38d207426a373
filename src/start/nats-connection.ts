import { jetstream, type JetStreamClient, type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import { hostname } from "node:os";
import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import { type ConnectPlan, connectPlan } from "../nats/connect-options.ts";
import { jetStreamRefusal } from "../nats/connect-refusal.ts";
import { type NatsLink, openNats } from "../nats/connection.ts";
import { displayNatsUrl } from "../nats/nats-url.ts";
import type { Closers } from "./closers.ts";

/**
 * Start-up's NATS link: to NATS_URL with its credentials and TLS, or to the embedded server; then
 * JetStream, in HOOKD_JS_DOMAIN when one is set. Every JetStream client and manager hookd uses is
 * made here, so the domain reaches all of them.
 */

export type NatsConnection = {
  /** The servers, without credentials: what hookd logs. */
  natsUrl: string;
  link: NatsLink;
  js: JetStreamClient;
  jsm: JetStreamManager;
};

export async function natsConnection(
  config: Config,
  embeddedUrl: string | null,
  log: Logger,
  closers: Closers,
): Promise<NatsConnection> {
  const plan: ConnectPlan = embeddedUrl === null
    ? await connectPlan({ ...config, NATS_URL: config.NATS_URL! })
    : { options: { servers: [embeddedUrl] }, authVariable: null, tls: false, clientCertificate: false };
  const natsUrl = embeddedUrl ?? displayNatsUrl(config.NATS_URL!);
  const link = await openNats(plan, `hookd@${hostname()}`, {
    timeoutMs: config.HOOKD_NATS_CONNECT_TIMEOUT,
    log,
    display: natsUrl,
  });
  closers.push("nats connection", () => link.close());
  const domain = config.HOOKD_JS_DOMAIN === undefined ? {} : { domain: config.HOOKD_JS_DOMAIN };
  // jetstreamManager asks the server for the account's JetStream: a server (or domain) without it fails here.
  const jsm = await jetStreamAnswering(() => jetstreamManager(link.nc, domain)).catch((error: unknown) => {
    throw jetStreamRefusal(error, natsUrl, config.HOOKD_JS_DOMAIN);
  });
  return { natsUrl, link, jsm, js: jetstream(link.nc, domain) };
}

/** How long a JetStream that does not answer yet (a cluster electing its meta leader) is waited for. */
const ELECTION_MS = 30_000;

/**
 * A JetStream cluster answers its API only once most of its nodes are up and have elected a leader:
 * one started beside them (systemd starting all at once) is asked again until then; a server
 * without JetStream answers at once that nobody responds, and is refused at once.
 */
async function jetStreamAnswering<T>(ask: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + ELECTION_MS;
  for (;;) {
    try {
      return await ask();
    } catch (error) {
      if (!/timeout|temporarily unavailable/i.test(String(error)) || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}
