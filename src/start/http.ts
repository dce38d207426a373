import type { Hono } from "hono";
import type { Config } from "../config.ts";
import type { StaticConfig } from "../domain/static-config.ts";
import { createApp } from "../http/app.ts";
import type { Logger } from "../log.ts";
import type { HookdMetrics } from "../metrics.ts";
import { replaySubscription } from "../runtime/replay.ts";
import type { TopicStreams } from "../runtime/topic-streams.ts";
import type { StartOptions } from "../server.ts";
import type { Deliveries } from "./deliveries.ts";
import type { Storage } from "./storage.ts";
import type { Subscriptions } from "./subscriptions.ts";

/** Start-up's last part: the Hono app over everything built before it. Serving it is the entry point's job. */

export type HttpParts = {
  storage: Storage;
  deliveries: Deliveries;
  subscriptions: Subscriptions;
  streams: TopicStreams;
  configFile: StaticConfig | null;
  metrics: HookdMetrics;
};

export function buildHttpApp(config: Config, parts: HttpParts, log: Logger, options: StartOptions): Hono {
  const { storage, deliveries, subscriptions } = parts;
  return createApp({
    deliveries: deliveries.deliveryCommands,
    deliveryStore: deliveries.deliveryStore,
    tokens: storage.tokens,
    policy: deliveries.policy,
    isNatsConnected: storage.link.isConnected,
    defaultSecrets: storage.signing.secret ? [storage.signing.secret] : [],
    maxBodyBytes: storage.maxBodyBytes,
    log,
    metrics: parts.metrics,
    topics: subscriptions.topics,
    clock: Date.now,
    subscriptions: subscriptions.subscriptionCommands,
    subscriptionDirectory: subscriptions.directory,
    replaySubscription: (input) =>
      replaySubscription({ js: storage.js, fanOut: subscriptions.fanOut, layout: storage.layout }, input),
    subscriptionAttempts: subscriptions.attemptLog,
    hub: subscriptions.hub,
    githubSecrets: parts.configFile?.github.secrets ?? [],
    streams: parts.streams,
    upgradeWebSocket: options.upgradeWebSocket,
    openNativeStream: options.openNativeStream,
    corsOrigins: config.HOOKD_CORS_ORIGINS,
  });
}
