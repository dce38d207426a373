import type { Hono } from "hono";
import { type Config, inlineWaitCap } from "../config.ts";
import { FirstAttemptWatch } from "../nats/first-attempt-watch.ts";
import { askForDelivery } from "../nats/delivery-asks.ts";
import type { StaticConfig } from "../domain/static-config.ts";
import { AddressRateLimit } from "../domain/address-rate-limit.ts";
import { createApp } from "../http/app.ts";
import type { Logger } from "../log.ts";
import type { HookdMetrics } from "../metrics.ts";
import { watchStreamLeaders } from "../nats/stream-leaders.ts";
import { Journal } from "../nats/journal.ts";
import { replaySubscription } from "../runtime/replay.ts";
import { SubscriptionAttempts } from "../runtime/subscription-attempts.ts";
import { type ResealDeps, resealSecrets } from "../runtime/secret-reseal.ts";
import { loadConsoleAssets } from "../console/assets.ts";
import { consoleServicesOf } from "../console/services-from-hookd.ts";
import { SIGNING_SECRET_SETTING } from "./signing-secret.ts";
import type { TopicStreams } from "../runtime/topic-streams.ts";
import type { StartOptions } from "./options.ts";
import type { DeliveryPart } from "./deliveries.ts";
import type { Storage } from "./storage.ts";
import type { SubscriptionPart } from "./subscriptions.ts";
import type { TokensPart } from "./tokens.ts";
import type { ConsolePart } from "./console-services.ts";
import type { OpenSseResponses } from "../http/change-sse.ts";

/** Start-up's last part: the Hono app over everything built before it. Serving it is the entry point's job. */

export type HttpParts = {
  storage: Storage;
  tokens: TokensPart;
  deliveryPart: DeliveryPart;
  subscriptionPart: SubscriptionPart;
  topicStreams: TopicStreams;
  configFile: StaticConfig | null;
  metrics: HookdMetrics;
  consolePart: ConsolePart;
  sseResponses: OpenSseResponses;
};

function consolePageServices(parts: HttpParts, log: Logger) {
  const { storage, deliveryPart, subscriptionPart } = parts;
  return consoleServicesOf({
    listing: {
      listing: deliveryPart.deliveryListing,
      deliveryStore: deliveryPart.deliveryStore,
      topics: subscriptionPart.topics,
      subscriptionDirectory: subscriptionPart.directory,
      log,
    },
    feed: parts.consolePart.feed,
    services: parts.consolePart.services,
    js: storage.js,
    layout: storage.layout,
  });
}

export async function buildHttpApp(
  config: Config,
  parts: HttpParts,
  log: Logger,
  options: StartOptions,
): Promise<Hono> {
  const { storage, deliveryPart, subscriptionPart } = parts;
  const consolePages = { services: consolePageServices(parts, log), assets: await loadConsoleAssets() };
  return createApp({
    deliveries: deliveryPart.deliveryCommands,
    deliveryStore: deliveryPart.deliveryStore,
    deliveryListing: deliveryPart.deliveryListing,
    tokens: parts.tokens.check,
    tokenRoutes: { revocable: parts.tokens.check.revocable, revocations: parts.tokens.revocations, clock: Date.now },
    resealSecrets: () => resealSecrets(resealDeps(config, storage, subscriptionPart)),
    policy: deliveryPart.policy,
    isNatsConnected: storage.link.isConnected,
    leaderlessStreams:
      watchStreamLeaders(storage.link.nc, storage.layout, { domain: config.HOOKD_JS_DOMAIN }).leaderless,
    defaultSecrets: storage.signing.secret ? [storage.signing.secret] : [],
    firstAttempts: new FirstAttemptWatch(storage.js, storage.layout, config.HOOKD_INLINE_WAITS),
    maxWaitSeconds: inlineWaitCap(config),
    maxBodyBytes: storage.maxBodyBytes,
    log,
    metrics: parts.metrics,
    topics: subscriptionPart.topics,
    clock: Date.now,
    subscriptions: subscriptionPart.subscriptionCommands,
    subscriptionDirectory: subscriptionPart.directory,
    replaySubscription: (input) =>
      replaySubscription({ js: storage.js, fanOut: subscriptionPart.fanOut, layout: storage.layout }, input),
    subscriptionAttempts: new SubscriptionAttempts({
      listing: deliveryPart.deliveryListing,
      deliveryStore: deliveryPart.deliveryStore,
      log,
    }),
    orderedLines: subscriptionPart.orderedLines,
    hub: subscriptionPart.hub,
    githubSecrets: parts.configFile?.github.secrets ?? [],
    streams: parts.topicStreams,
    upgradeWebSocket: options.upgradeWebSocket,
    openNativeStream: options.openNativeStream,
    corsOrigins: config.HOOKD_CORS_ORIGINS,
    console: {
      services: parts.consolePart.services,
      feed: parts.consolePart.feed,
      sseResponses: parts.sseResponses,
      bufferBytes: config.HOOKD_STREAM_BUFFER,
      heartbeatMs: config.HOOKD_STREAM_HEARTBEAT,
    },
    verifyLimit: config.HOOKD_VERIFY_RATE ? new AddressRateLimit(config.HOOKD_VERIFY_RATE) : null,
    askForDelivery: askForDelivery(storage.link.nc, storage.layout),
    consolePages,
  });
}

function resealDeps(config: Config, storage: Storage, subscriptionPart: SubscriptionPart): ResealDeps {
  const subject = storage.layout.subjects.setting(SIGNING_SECRET_SETTING);
  const signingSetting = {
    journal: new Journal(storage.jsm, storage.layout.streams.settings, storage.publisher),
    subject,
    owner: SIGNING_SECRET_SETTING,
    dropOlderEntries: async () =>
      (await storage.jsm.streams.purge(storage.layout.streams.settings, { filter: subject, keep: 1 })).purged,
  };
  return {
    box: storage.secretBox,
    store: subscriptionPart.subscriptionStore,
    commands: subscriptionPart.subscriptionCommands,
    signingSetting,
    clock: Date.now,
    journalMaxAgeMs: config.HOOKD_JOURNAL_MAX_AGE,
  };
}
