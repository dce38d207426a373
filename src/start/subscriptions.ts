import type { Config } from "../config.ts";
import type { StaticConfig } from "../domain/static-config.ts";
import type { Logger } from "../log.ts";
import { orWhenUnreadable } from "../nats/journal.ts";
import { SubscriptionStore } from "../nats/subscription-store.ts";
import { TopicLog } from "../nats/topic-log.ts";
import { FanOut } from "../runtime/fan-out.ts";
import { LineStore } from "../nats/line-store.ts";
import { OrderedLines } from "../runtime/ordered-lines.ts";
import { DeliveryReports } from "../runtime/delivery-reports.ts";
import { syncStaticSubscriptions } from "../runtime/static-subscriptions.ts";
import { SubscriptionCommands } from "../runtime/subscription-commands.ts";
import { SubscriptionDirectory } from "../runtime/subscription-directory.ts";
import { SubscriptionHealth } from "../runtime/subscription-health.ts";
import { systemEventPublisher } from "../runtime/system-events.ts";
import { WebSubHub } from "../runtime/websub-hub.ts";
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
  hub: WebSubHub;
  fanOut: FanOut;
  orderedLines: OrderedLines;
  reports: DeliveryReports;
};

export async function buildSubscriptions(
  config: Config,
  parts: { storage: Storage; deliveryPart: DeliveryPart; configFile: StaticConfig | null },
  log: Logger,
  closers: Closers,
): Promise<SubscriptionPart> {
  const { storage, deliveryPart, configFile } = parts;
  const topics = topicLogOf(storage, log);
  const subscriptionStore = subscriptionStoreOf(storage);
  const { reports, directory } = reportsAndDirectory(config, { storage, deliveryPart, subscriptionStore }, log);
  const orderedLines: OrderedLines = new OrderedLines({
    lines: new LineStore(storage.jsm, storage.publisher, storage.layout),
    deliveries: deliveryPart.deliveryStore,
    topics,
    index: directory.index,
    layout: storage.layout,
    create: (event, target) => fanOut.createOrdered(event, target),
    log,
  });
  deliveryPart.deliveryCommands.releaseOrderedLinesWith((subscriptionId) =>
    // The cancel is journaled already: a line that cannot move now is moved by the sweep.
    orderedLines.advance(subscriptionId).catch((error: unknown) =>
      log.warn({ err: error, subscriptionId }, "could not move an ordered line past a cancelled head")
    )
  );
  const announce = systemEventPublisher(topics, Date.now, log);
  const subscriptionCommands = commandsOf(config, { store: subscriptionStore, directory, announce, orderedLines, log });
  const health = new SubscriptionHealth({ subscriptions: subscriptionCommands, directory, clock: Date.now, log });
  // Every existing subscription is indexed before the config file is applied and before fan-out starts.
  await directory.start(subscriptionStore, log);
  closers.push("subscription directory", () => directory.stop());
  if (configFile) await applyConfigFile(config, configFile, { subscriptions: subscriptionCommands, directory, log });
  const hub = hubOf({ storage, deliveryPart, subscriptionCommands, directory, topics, log });
  const fanOut: FanOut = new FanOut({
    index: directory.index,
    deliveries: deliveryPart.deliveryStore,
    secrets: storage.deliverySecrets,
    layout: storage.layout,
    defaultSchedule: config.HOOKD_RETRY_SCHEDULE,
    log,
    publicBase: publicBaseUrl(config),
    // A line whose head this hookd cannot read waits (the sweep tries it again); the event's other subscribers do not.
    onOrderedEvent: (subscriptionId) =>
      orWhenUnreadable(orderedLines.advance(subscriptionId), (error) => {
        log.warn({ err: error, subscriptionId }, "an ordered line's head cannot be read by this hookd; the line waits");
      }),
  });
  return {
    topics,
    subscriptionStore,
    subscriptionCommands,
    directory,
    health,
    hub,
    fanOut,
    orderedLines,
    reports,
  };
}

/**
 * Every instance's directory sees a disable live (the instance that journaled it first); each makes
 * its errback, which the derived id makes one delivery, so an instance that dies right after
 * journaling a disable loses nothing while another runs. When none runs, the next to start finds
 * the subscription disabled and makes the errback then (under the same id).
 */
function reportsAndDirectory(
  config: Config,
  parts: { storage: Storage; deliveryPart: DeliveryPart; subscriptionStore: SubscriptionStore },
  log: Logger,
) {
  const reports = new DeliveryReports({
    store: parts.deliveryPart.deliveryStore,
    secrets: parts.storage.deliverySecrets,
    defaultSchedule: config.HOOKD_RETRY_SCHEDULE,
    clock: Date.now,
    log,
    journalMaxAgeMs: config.HOOKD_JOURNAL_MAX_AGE,
    maxPayload: parts.storage.maxPayload,
    serverSecrets: parts.storage.signing.secret ? [parts.storage.signing.secret] : [],
  });
  const failed = (id: string | undefined) => (error: unknown) =>
    log.error({ err: error, subscriptionId: id }, "could not create the errback of a disabled subscription");
  const directory = new SubscriptionDirectory(
    (id, subscription, seq) => void reports.subscriptionDisabled(id, subscription, seq).catch(failed(id)),
    (found) =>
      void reports.subscriptionsFoundDisabled(found, (id) => parts.subscriptionStore.readDisabling(id))
        .catch(failed(undefined)),
  );
  return { reports, directory };
}

function hubOf(parts: {
  storage: Storage;
  deliveryPart: DeliveryPart;
  subscriptionCommands: SubscriptionCommands;
  directory: SubscriptionDirectory;
  topics: TopicLog;
  log: Logger;
}): WebSubHub {
  const { storage, deliveryPart, subscriptionCommands, directory, topics, log } = parts;
  return new WebSubHub({
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
}

function topicLogOf(storage: Storage, log: Logger): TopicLog {
  return new TopicLog(
    storage.jsm,
    storage.publisher,
    storage.layout,
    (eventId, error) =>
      log.warn(
        { err: error, eventId },
        "stored an event but not its by-id record; GET /api/v1/events/<id> will not find it",
      ),
  );
}

function commandsOf(
  config: Config,
  deps: {
    store: SubscriptionStore;
    directory: SubscriptionDirectory;
    announce: ReturnType<typeof systemEventPublisher>;
    orderedLines: OrderedLines;
    log: Logger;
  },
): SubscriptionCommands {
  const { directory, announce, orderedLines, log } = deps;
  return new SubscriptionCommands({
    store: deps.store,
    clock: Date.now,
    failureThreshold: config.HOOKD_FAILURE_THRESHOLD,
    onChange: (id, subscription, seq, previousState) => {
      directory.apply(id, subscription, seq);
      // The instance that made a change announces it, so each change is announced once.
      void announce(id, previousState, subscription);
      const resumed = previousState !== null && previousState !== "active" && subscription.state === "active";
      if (subscription.config.ordered && resumed) {
        // A line held still while its subscription was paused or disabled moves on again.
        orderedLines.advance(id).catch((error: unknown) =>
          log.warn({ err: error, subscriptionId: id }, "could not move an ordered line on; its next event moves it")
        );
      }
    },
    // The line starts where the log stands when the subscription is made, before the API answers.
    afterCreate: (id, subscription) => subscription.config.ordered ? orderedLines.open(id) : Promise.resolve(),
  });
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
