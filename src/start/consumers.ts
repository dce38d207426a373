import { hostname } from "node:os";
import { ackWaitFor, type Config } from "../config.ts";
import { unguardedRouters } from "../domain/router-guard.ts";
import { formatConfigTopic, type StaticConfig } from "../domain/static-config.ts";
import type { Logger } from "../log.ts";
import type { HookdMetrics } from "../metrics.ts";
import { RateLimiter } from "../nats/rate-limiter.ts";
import { runWorkQueue, type WorkQueueOptions, type WorkQueueRunner } from "../nats/work-queue.ts";
import { DeliveryWorker } from "../runtime/delivery-worker.ts";
import { IngestExpander } from "../runtime/ingest-expander.ts";
import { FanOutWorker } from "../runtime/fan-out-worker.ts";
import { FirstAttempts } from "../runtime/first-attempts.ts";
import { Places } from "../runtime/places.ts";
import { QuickWindows } from "../runtime/quick-windows.ts";
import { DeliveryAskAnswers } from "../nats/delivery-asks.ts";
import { watchBacklog } from "../runtime/backlog-watch.ts";
import { BatchTouches } from "../nats/batch-touches.ts";
import { startTopicRouters } from "../runtime/topic-routers.ts";
import type { Closers } from "./closers.ts";
import type { DeliveryPart } from "./deliveries.ts";
import type { Storage } from "./storage.ts";
import type { SubscriptionPart } from "./subscriptions.ts";

/**
 * Start-up's consumers: the delivery workers, fan-out, the ingest expander and the config file's
 * routers. Only instances with HOOKD_WORKERS=on run them; the others only accept and serve.
 */

/** Topic events fanned out at once; their deliveries' attempts share HOOKD_CONCURRENCY places. */
const FANOUT_CONCURRENCY = 16;
/** Ingest batches worked at once: each is one message holding many deliveries, whose first attempts it makes. */
const EXPANDER_CONCURRENCY = 8;
/** How often each instance reads how many deliveries wait against HOOKD_MAX_BACKLOG. */
const BACKLOG_CHECK_MS = 15_000;
/** How often each instance looks for an ordered line that nothing told to move (a safety net, not the way lines move). */
const LINE_SWEEP_MS = 10_000;
/** One origin's share of the attempt slots: a slow receiver never holds more than this of an instance. */
const ORIGIN_SHARE = 1 / 4;

export type ConsumerParts = {
  storage: Storage;
  deliveryPart: DeliveryPart;
  subscriptionPart: SubscriptionPart;
  configFile: StaticConfig | null;
  metrics: HookdMetrics;
};

export async function startConsumers(
  config: Config,
  parts: ConsumerParts,
  log: Logger,
  closers: Closers,
): Promise<void> {
  const { storage, subscriptionPart } = parts;
  const quickWindows = new QuickWindows();
  const asks = new DeliveryAskAnswers(storage.link.nc, storage.layout, quickWindows, log);
  closers.push("asks for deliveries on the wire", () => asks.stop());
  const worker = createWorker(config, parts, quickWindows, log);
  const firstAttempts = new FirstAttempts({
    store: parts.deliveryPart.deliveryStore,
    worker,
    layout: storage.layout,
    log,
    leaseMs: ackWaitFor(config),
    // First attempts made from carriers (fan-out's events, ingest batches) take these places, as the work
    // queue's handlers make up to as many other attempts; the worker's origin gate counts both.
    places: new Places(config.HOOKD_CONCURRENCY, (held) => parts.metrics.firstAttempts.set(held)),
  });
  const fanning = await startFanOut(parts, firstAttempts, log, closers);
  await startRouters(config, parts, log, closers);
  const expanding = await startExpander(config, parts, firstAttempts, log, closers);
  const working = await runWorkQueue({
    js: storage.js,
    stream: storage.layout.streams.work,
    consumer: storage.layout.consumers.workers,
    concurrency: config.HOOKD_CONCURRENCY,
    handle: (message) => worker.handle(message),
    log,
    onLoad: (active) => parts.metrics.working.set(active),
  });
  closers.push("delivery workers", () => working.stop());
  // Closers run newest first: every consumer stops taking work at once, and the carriers hand back what they
  // have not started, before the attempts in flight are waited for.
  closers.push("delivery consumers", () => {
    firstAttempts.stop();
    return Promise.all([fanning.stop(), expanding.stop(), working.stop()]);
  });
  startBacklogWatch(parts, log, closers);
  const sweeping = setInterval(() => void subscriptionPart.orderedLines.sweep(), LINE_SWEEP_MS);
  closers.push("ordered lines' sweep", () => clearInterval(sweeping));
}

/** Topic events' fan-out, whose deliveries' first attempts it makes (decision record 27). */
async function startFanOut(
  parts: ConsumerParts,
  firstAttempts: FirstAttempts,
  log: Logger,
  closers: Closers,
): Promise<WorkQueueRunner> {
  const fanOut = new FanOutWorker({
    fanOut: parts.subscriptionPart.fanOut,
    firstAttempts,
    store: parts.deliveryPart.deliveryStore,
    log,
  });
  const { streams, consumers } = parts.storage.layout;
  const carrier = { stream: streams.topics, consumer: consumers.fanOut, concurrency: FANOUT_CONCURRENCY };
  return runCarrier(parts, carrier, fanOut, firstAttempts, log, closers);
}

/** The ingest batches' worker: their deliveries' first attempts (decision record 26). */
async function startExpander(
  config: Config,
  parts: ConsumerParts,
  firstAttempts: FirstAttempts,
  log: Logger,
  closers: Closers,
): Promise<WorkQueueRunner> {
  const expanderHandlers = Math.min(EXPANDER_CONCURRENCY, config.HOOKD_CONCURRENCY);
  // Listening before the first batch is taken: a batch reads the marks said before it, and hears the rest.
  const { jsm, layout } = parts.storage;
  const lastIngestSeq = async () => (await jsm.streams.info(layout.streams.ingest)).state.last_seq;
  const { nc } = parts.storage.link;
  // A server in a cluster names it, and tells its clients the others' URLs; a leaf node's hub is reached by domain.
  const oneServer = () =>
    config.HOOKD_JS_DOMAIN === undefined && config.HOOKD_REPLICAS === 1 && !nc.info?.cluster &&
    (nc.info?.connect_urls ?? []).length === 0;
  const touches = new BatchTouches(nc, layout, Date.now, log, lastIngestSeq, oneServer);
  closers.push("ingest batch touches", () => touches.stop());
  const expander = new IngestExpander({ store: parts.deliveryPart.deliveryStore, firstAttempts, log, touches });
  const { streams, consumers } = layout;
  const carrier = { stream: streams.ingest, consumer: consumers.expander, concurrency: expanderHandlers };
  return runCarrier(parts, carrier, expander, firstAttempts, log, closers);
}

/**
 * Pulls a carrier's messages only for free handlers (none waits in a client buffer while its ack wait
 * runs out). Stopped, the carriers being worked start no more deliveries and go back to NATS, for
 * another instance once this one's last pull has expired (decision record 34).
 */
async function runCarrier(
  parts: ConsumerParts,
  carrier: Pick<WorkQueueOptions, "stream" | "consumer" | "concurrency">,
  worker: { handle: WorkQueueOptions["handle"] },
  firstAttempts: FirstAttempts,
  log: Logger,
  closers: Closers,
): Promise<WorkQueueRunner> {
  const handle: WorkQueueOptions["handle"] = (message, pulls) => worker.handle(message, pulls);
  const running = await runWorkQueue({ js: parts.storage.js, ...carrier, handle, log, prefetch: false });
  closers.push(`carrier consumer ${carrier.consumer}`, () => {
    firstAttempts.stop();
    return running.stop();
  });
  return running;
}

/** How many deliveries wait against HOOKD_MAX_BACKLOG, read from the work consumer. */
function startBacklogWatch(parts: ConsumerParts, log: Logger, closers: Closers): void {
  const { jsm, layout } = parts.storage;
  const backlog = watchBacklog({
    read: async () => {
      const info = await jsm.consumers.info(layout.streams.work, layout.consumers.workers);
      return { waiting: info.num_ack_pending, limit: info.config.max_ack_pending ?? 0 };
    },
    metrics: parts.metrics,
    log,
    everyMs: BACKLOG_CHECK_MS,
    now: Date.now,
  });
  closers.push("backlog watch", () => backlog.stop());
}

/** Routers consume and republish like fan-out does, so an ingest-only instance runs none. */
async function startRouters(config: Config, parts: ConsumerParts, log: Logger, closers: Closers): Promise<void> {
  const routers = parts.configFile?.routers ?? [];
  for (const router of unguardedRouters(routers, parts.configFile?.github.secrets ?? [])) {
    log.warn(
      { router: router.name, from: formatConfigTopic(router.from) },
      "no GitHub secret guards this router's topic, so whoever may publish there can make it announce pushes; " +
        "add one under github.secrets in the config file",
    );
  }
  const running = await startTopicRouters({
    js: parts.storage.js,
    jsm: parts.storage.jsm,
    routers,
    deps: { topics: parts.subscriptionPart.topics, log, clock: Date.now, layout: parts.storage.layout },
    inactiveMs: config.HOOKD_TOPIC_MAX_AGE,
  });
  closers.push("topic routers", () => running.stop());
}

function createWorker(config: Config, parts: ConsumerParts, quickWindows: QuickWindows, log: Logger): DeliveryWorker {
  const { storage, deliveryPart, subscriptionPart, metrics } = parts;
  const perOrigin = Math.max(1, Math.floor(config.HOOKD_CONCURRENCY * ORIGIN_SHARE));
  return new DeliveryWorker({
    store: deliveryPart.deliveryStore,
    layout: storage.layout,
    attempter: deliveryPart.attempter,
    secrets: storage.deliverySecrets,
    clock: Date.now,
    random: Math.random,
    log,
    leaseMs: ackWaitFor(config),
    // Well inside the attempt's timeout, so a timed-out attempt shows in flight before it fails.
    quickAttemptMs: Math.min(1_000, Math.floor(config.HOOKD_TIMEOUT / 2)),
    quickWindows,
    workerId: config.HOOKD_INSTANCE_ID ?? `${hostname()}:${process.pid}`,
    metrics,
    topics: subscriptionPart.topics,
    onSubscriptionDeliveryFinished: (outcome) => subscriptionPart.health.deliveryFinished(outcome),
    onOrderedHeadDone: (subscriptionId) => subscriptionPart.orderedLines.advance(subscriptionId),
    reports: subscriptionPart.reports,
    rateLimiter: new RateLimiter(storage.jsm, storage.publisher, storage.layout),
    onLease: (message) => subscriptionPart.hub.handleLease(message),
    perOriginLimit: perOrigin,
    // A fast origin's extra attempts may fill the other handlers and every carrier place (HOOKD_CONCURRENCY
    // each): they wait milliseconds, where a bounce costs a hand-off or a redelivery, a journal read and a
    // signature, and with one busy receiver bounced most work.
    originWaitersMax: Math.max(1, 2 * config.HOOKD_CONCURRENCY - perOrigin),
  });
}
