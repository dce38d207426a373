import type { Config } from "../config.ts";
import type { StaticConfig } from "../domain/static-config.ts";
import type { Logger } from "../log.ts";
import { AttemptLog } from "../nats/attempt-log.ts";
import { SubscriptionStore } from "../nats/subscription-store.ts";
import { TopicLog } from "../nats/topic-log.ts";
import { FanOut } from "../runtime/fan-out.ts";
import { syncStaticSubscriptions } from "../runtime/static-subscriptions.ts";
import { SubscriptionCommands } from "../runtime/subscription-commands.ts";
import { SubscriptionDirectory } from "../runtime/subscription-directory.ts";
import { SubscriptionHealth } from "../runtime/subscription-health.ts";
import { systemEventPublisher } from "../runtime/system-events.ts";
import { WebSubHub } from "../runtime/websub-hub.ts";
import { DeliveryReports } from "../runtime/delivery-reports.ts";
import type { Closers } from "./closers.ts";
import type { DeliveryPart } from "./deliveries.ts";
import type { Storage } from "./storage.ts";

/**
 * Start-up's subscriptions-and-topics part: the topic log, subscriptions with their index and
 * failure policy, the config file's subscriptions, the WebSub hub and fan-out.
 */

export type SubscriptionPart = {
  topics: TopicLog;
  subscriptionStore: SubscriptionStore;
  subscriptionCommands: SubscriptionCommands;
  directory: SubscriptionDirectory;
  health: SubscriptionHealth;
  attemptLog: AttemptLog;
  hub: WebSubHub;
  fanOut: FanOut;
  reports: DeliveryReports;
};

export async function buildSubscriptions(
  config: Config,
  parts: { storage: Storage; deliveryPart: DeliveryPart; configFile: StaticConfig | null },
  log: Logger,
  closers: Closers,
): Promise<SubscriptionPart> {
  const { storage, deliveryPart, configFile } = parts;
  const topics = new TopicLog(
    storage.jsm,
    storage.publisher,
    storage.layout,
    (eventId, error) =>
      log.warn(
        { err: error, eventId },
        "stored an event but not its by-id record; GET /api/v1/events/<id> will not find it",
      ),
  );
  const subscriptionStore = subscriptionStoreOf(storage);
  const { reports, directory } = reportsAndDirectory(config, storage, deliveryPart, log);
  const announce = systemEventPublisher(topics, Date.now, log);
  const subscriptionCommands = new SubscriptionCommands({
    store: subscriptionStore,
    clock: Date.now,
    failureThreshold: config.HOOKD_FAILURE_THRESHOLD,
    onChange: (id, subscription, seq, previousState) => {
      directory.apply(id, subscription, seq);
      // The instance that made a change announces it, so each change is announced once.
      void announce(id, previousState, subscription);
    },
  });
  const health = new SubscriptionHealth({ subscriptions: subscriptionCommands, directory, clock: Date.now, log });
  // Every existing subscription is indexed before the config file is applied and before fan-out starts.
  await directory.start(subscriptionStore, log);
  closers.push("subscription directory", () => directory.stop());
  if (configFile) await applyConfigFile(config, configFile, { subscriptions: subscriptionCommands, directory, log });
  const hub = new WebSubHub({
    subscriptions: subscriptionCommands,
    directory,
    http: deliveryPart.attempter,
    topics,
    js: storage.js,
    layout: storage.layout,
    clock: Date.now,
    log,
    maxBodyBytes: storage.maxBodyBytes,
  });
  const fanOut = new FanOut({
    index: directory.index,
    deliveries: deliveryPart.deliveryStore,
    secrets: storage.deliverySecrets,
    layout: storage.layout,
    defaultSchedule: config.HOOKD_RETRY_SCHEDULE,
    log,
    publicBase: publicBaseUrl(config),
  });
  const attemptLog = new AttemptLog(storage.jsm, storage.publisher, storage.layout);
  return { topics, subscriptionStore, subscriptionCommands, directory, health, attemptLog, hub, fanOut, reports };
}

async function applyConfigFile(
  config: Config,
  configFile: StaticConfig,
  deps: Parameters<typeof syncStaticSubscriptions>[1],
): Promise<void> {
  const counts = await syncStaticSubscriptions(configFile, deps);
  deps.log.info(
    {
      file: config.HOOKD_CONFIG,
      subscriptions: configFile.subscriptions.length,
      routers: configFile.routers.length,
      ...counts,
    },
    "applied the config file",
  );
}

/** Where receivers can reach this hookd (WebSub's Link rel=hub), when it can be known. */
function publicBaseUrl(config: Config): string | undefined {
  if (config.HOOKD_PUBLIC_URL) return config.HOOKD_PUBLIC_URL.replace(/\/+$/, "");
  return config.HOOKD_PORT !== 0 ? `http://${config.HOOKD_HOST}:${config.HOOKD_PORT}` : undefined;
}

function subscriptionStoreOf(storage: Storage): SubscriptionStore {
  return new SubscriptionStore(storage.js, storage.jsm, storage.publisher, storage.layout, storage.secretBox);
}

/**
 * Every instance's directory sees a disable live (the instance that journaled it first); each makes
 * its errback, which the derived id makes one delivery, so an instance that dies right after
 * journaling a disable loses nothing while another runs.
 */
function reportsAndDirectory(config: Config, storage: Storage, deliveryPart: DeliveryPart, log: Logger) {
  const reports = new DeliveryReports({
    store: deliveryPart.deliveryStore,
    secrets: storage.deliverySecrets,
    defaultSchedule: config.HOOKD_RETRY_SCHEDULE,
    clock: Date.now,
    log,
  });
  const directory = new SubscriptionDirectory((id, subscription, seq) =>
    void reports.subscriptionDisabled(id, subscription, seq).catch((error: unknown) =>
      log.error({ err: error, subscriptionId: id }, "could not create the errback of a disabled subscription")
    )
  );
  return { reports, directory };
}
