import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import { join } from "node:path";
import { ackWaitFor, type Config } from "../config.ts";
import { base64Capacity } from "../domain/bytes.ts";
import { PathTokens } from "../domain/path-tokens.ts";
import { DeliverySecrets } from "../domain/delivery-secrets.ts";
import { SecretBox } from "../domain/secret-box.ts";
import type { Logger } from "../log.ts";
import type { NatsLink } from "../nats/connection.ts";
import { natsConnection } from "./nats-connection.ts";
import { startNatsServer } from "../nats/embedded-server.ts";
import { JetStreamPublisher } from "../nats/jetstream-publisher.ts";
import { ensureStreams } from "../nats/ensure-streams.ts";
import { createLayout, type JetStreamLayout } from "../nats/layout.ts";
import { lockDataFolder } from "../data-folder-lock.ts";
import { loadOrCreateKey } from "../server-key.ts";
import type { Closers } from "./closers.ts";
import { chooseSigningSecret, type SigningSecret } from "./signing-secret.ts";

/**
 * Start-up's first part: the server key, the NATS link (and the embedded server behind it), the streams,
 * and the signing secret for deliveries that bring none.
 */

/** NATS's own default max_payload, assumed when the server has not said (it always does once connected). */
export const NATS_DEFAULT_MAX_PAYLOAD = 1024 * 1024;
/**
 * Room in one NATS message for what surrounds a base64 body: a journal event's JSON and headers, or
 * a topic message's GitHub envelope.
 */
export const ENVELOPE_ROOM = 64 * 1024;

export type Storage = {
  /** The server key: Hookbot tokens and hkd1 tokens are signed with it. */
  key: string;
  /** The token for "/", when hookd made the key itself (so the operator has a way in). */
  generatedAdminToken: string | null;
  signing: SigningSecret;
  /** Seals the secrets hookd writes to NATS and opens those it reads back. */
  secretBox: SecretBox;
  /** The same, for the secrets each delivery's created event carries. */
  deliverySecrets: DeliverySecrets;
  natsUrl: string;
  link: NatsLink;
  js: JetStreamClient;
  jsm: JetStreamManager;
  layout: JetStreamLayout;
  publisher: JetStreamPublisher;
  /** The largest body hookd accepts: HOOKD_MAX_BODY, or less when NATS's max_payload cannot hold it. */
  maxBodyBytes: number;
  maxPayload(): number;
};

/** The largest body whose journal event still fits in one NATS message. */
export function fitBodyLimit(configured: number, maxPayload: number): number {
  return Math.max(0, Math.min(configured, base64Capacity(maxPayload - ENVELOPE_ROOM)));
}

export async function openStorage(config: Config, log: Logger, closers: Closers): Promise<Storage> {
  const { key, generated } = await loadOrCreateKey(config.HOOKD_DATA_DIR, config.HOOKD_KEY);
  const secretBox = await openSecretBox(config, key);
  const embeddedUrl = config.NATS_URL === undefined ? await startEmbeddedNats(config, log, closers) : null;
  // Without credentials: this is the URL hookd logs.
  const { natsUrl, link, jsm, js } = await natsConnection(config, embeddedUrl, log, closers);
  const maxPayload = () => link.nc.info?.max_payload ?? NATS_DEFAULT_MAX_PAYLOAD;
  const maxBodyBytes = effectiveBodyLimit(config, maxPayload(), log);
  // Every stream, consumer and subject name comes from here.
  const layout = createLayout({ namespace: config.HOOKD_NAMESPACE, replicas: config.HOOKD_REPLICAS });
  await ensureStreams(jsm, layout, {
    journalMaxAgeMs: config.HOOKD_JOURNAL_MAX_AGE,
    topicMaxAgeMs: config.HOOKD_TOPIC_MAX_AGE,
    idempotencyWindowMs: config.HOOKD_IDEMPOTENCY_WINDOW,
    ackWaitMs: ackWaitFor(config),
    maxAckPending: config.HOOKD_MAX_BACKLOG,
  }, { allowShrink: config.HOOKD_REPLICAS_SHRINK === "1", servers: natsUrl });
  const publisher = new JetStreamPublisher(link.nc);
  closers.push("jetstream publisher", () => publisher.close());
  const signing = await chooseSigningSecret(config, { jsm, publisher, layout, box: secretBox }, log);
  const generatedAdminToken = generated ? await new PathTokens(key).tokenFor("/") : null;
  return {
    key,
    generatedAdminToken,
    signing,
    secretBox,
    deliverySecrets: new DeliverySecrets(secretBox),
    natsUrl,
    link,
    js,
    jsm,
    layout,
    publisher,
    maxBodyBytes,
    maxPayload,
  };
}

/**
 * HOOKD_SECRETS_KEY seals, else the server key. With HOOKD_SECRETS_KEY set, the server key still
 * opens, so moving from one to the other needs no step of its own.
 */
export function openSecretBox(
  config: Pick<Config, "HOOKD_SECRETS_KEY" | "HOOKD_SECRETS_KEY_PREVIOUS">,
  serverKey: string,
) {
  const previous = [...config.HOOKD_SECRETS_KEY_PREVIOUS, ...(config.HOOKD_SECRETS_KEY ? [serverKey] : [])];
  return SecretBox.fromKeys(config.HOOKD_SECRETS_KEY ?? serverKey, previous);
}

async function startEmbeddedNats(config: Config, log: Logger, closers: Closers): Promise<string> {
  // The store is one process's: a second hookd in this folder is refused here, before it touches the store.
  const lock = await lockDataFolder(config.HOOKD_DATA_DIR);
  closers.push("data folder lock", () => lock.release());
  const dir = join(config.HOOKD_DATA_DIR, "nats");
  // Its max_payload is the launcher's default, which leaves room for HOOKD_MAX_BODY's default.
  const embedded = await startNatsServer({ dir, bin: config.HOOKD_NATS_SERVER_BIN });
  closers.push("embedded nats-server", () => embedded.stop());
  log.info({ nats: embedded.url, store: dir }, "started embedded nats-server");
  return embedded.url;
}

function effectiveBodyLimit(config: Config, maxPayload: number, log: Logger): number {
  const maxBodyBytes = fitBodyLimit(config.HOOKD_MAX_BODY, maxPayload);
  if (maxBodyBytes < config.HOOKD_MAX_BODY) {
    log.warn(
      { configured: config.HOOKD_MAX_BODY, effective: maxBodyBytes, nats_max_payload: maxPayload },
      "NATS max_payload is too small for HOOKD_MAX_BODY; accepting smaller bodies " +
        "(raise max_payload in nats-server's config to lift this)",
    );
  }
  return maxBodyBytes;
}
