import type { Hono } from "hono";
import type { Config } from "../config.ts";
import type { StaticConfig } from "../domain/static-config.ts";
import { createApp } from "../http/app.ts";
import type { Logger } from "../log.ts";
import type { HookdMetrics } from "../metrics.ts";
import { watchStreamLeaders } from "../nats/stream-leaders.ts";
import { replaySubscription } from "../runtime/replay.ts";
import type { TopicStreams } from "../runtime/topic-streams.ts";
import type { StartOptions } from "./options.ts";
import type { DeliveryPart } from "./deliveries.ts";
import type { Storage } from "./storage.ts";
import type { SubscriptionPart } from "./subscriptions.ts";
import type { TokensPart } from "./tokens.ts";

/** Start-up's last part: the Hono app over everything built before it. Serving it is the entry point's job. */

export type HttpParts = {
  storage: Storage;
  tokens: TokensPart;
  deliveryPart: DeliveryPart;
  subscriptionPart: SubscriptionPart;
  topicStreams: TopicStreams;
  configFile: StaticConfig | null;
  metrics: HookdMetrics;
};

export function buildHttpApp(config: Config, parts: HttpParts, log: Logger, options: StartOptions): Hono {
  const { storage, deliveryPart, subscriptionPart } = parts;
  return createApp({
    deliveries: deliveryPart.deliveryCommands,
    deliveryStore: deliveryPart.deliveryStore,
    tokens: parts.tokens.check,
    tokenRoutes: { revocable: parts.tokens.check.revocable, revocations: parts.tokens.revocations, clock: Date.now },
    policy: deliveryPart.policy,
    isNatsConnected: storage.link.isConnected,
    leaderlessStreams: watchStreamLeaders(storage.link.nc, storage.layout).leaderless,
    defaultSecrets: storage.signing.secret ? [storage.signing.secret] : [],
    maxBodyBytes: storage.maxBodyBytes,
    log,
    metrics: parts.metrics,
    topics: subscriptionPart.topics,
    clock: Date.now,
    subscriptions: subscriptionPart.subscriptionCommands,
    subscriptionDirectory: subscriptionPart.directory,
    replaySubscription: (input) =>
      replaySubscription({ js: storage.js, fanOut: subscriptionPart.fanOut, layout: storage.layout }, input),
    subscriptionAttempts: subscriptionPart.attemptLog,
    hub: subscriptionPart.hub,
    githubSecrets: parts.configFile?.github.secrets ?? [],
    streams: parts.topicStreams,
    upgradeWebSocket: options.upgradeWebSocket,
    openNativeStream: options.openNativeStream,
    corsOrigins: config.HOOKD_CORS_ORIGINS,
  });
}
