import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { join } from "node:path";
import { hostname } from "node:os";
import { ackWaitFor, type Config } from "./config.ts";
import { createHttpAttempter } from "./delivery/http-attempt.ts";
import { NetworkPolicy } from "./delivery/network-policy.ts";
import { PathTokens } from "./domain/path-tokens.ts";
import { createApp } from "./http/app.ts";
import type { Logger } from "./log.ts";
import { openNats } from "./nats/connection.ts";
import { DeliveryStore } from "./nats/delivery-store.ts";
import { startNatsServer, type NatsServerHandle } from "./nats/embedded-server.ts";
import { ensureStreams, EXPANDER_CONSUMER, FANOUT_CONSUMER, INGEST_STREAM, TOPIC_STREAM } from "./nats/streams.ts";
import { SubscriptionStore } from "./nats/subscription-store.ts";
import { SubscriptionCommands } from "./runtime/subscription-commands.ts";
import { SubscriptionDirectory } from "./runtime/subscription-directory.ts";
import { FanOut } from "./runtime/fan-out.ts";
import { replaySubscription } from "./runtime/replay.ts";
import { AttemptLog } from "./nats/attempt-log.ts";
import { ensureRateStream, RateLimiter } from "./nats/rate-limiter.ts";
import { WebSubHub } from "./runtime/websub-hub.ts";
import { SubscriptionHealth } from "./runtime/subscription-health.ts";
import { syncStaticSubscriptions } from "./runtime/static-subscriptions.ts";
import { startTopicRouters, type TopicRouters } from "./runtime/topic-routers.ts";
import { unguardedRouters } from "./domain/router-guard.ts";
import { formatConfigTopic, parseStaticConfig } from "./domain/static-config.ts";
import { readFile } from "node:fs/promises";
import { systemEventPublisher } from "./runtime/system-events.ts";
import { TopicLog } from "./nats/topic-log.ts";
import { runWorkQueue, type WorkQueueRunner } from "./nats/work-queue.ts";
import { DeliveryCommands } from "./runtime/delivery-commands.ts";
import { DeliveryWorker } from "./runtime/delivery-worker.ts";
import { loadOrCreateKey } from "./server-key.ts";
import { HookdMetrics } from "./metrics.ts";
import type { Context, Hono } from "hono";
import type { UpgradeWebSocket } from "hono/ws";
import type { NativeStream } from "./http/stream-sinks.ts";
import { TopicFeeds } from "./nats/topic-feeds.ts";
import { randomBytes } from "./domain/random-pool.ts";
import { JetStreamPublisher } from "./nats/jetstream-publisher.ts";
import { IngestBatcher } from "./nats/ingest-batcher.ts";
import { IngestExpander } from "./runtime/ingest-expander.ts";
import { TopicReplay } from "./nats/topic-replay.ts";
import { TopicStreams } from "./runtime/topic-streams.ts";

/** Wires hookd together; runtime-neutral, so the Node and Deno entry points only add serving and signals. */

export type Hookd = {
  app: Hono;
  natsUrl: string;
  /** The token for "/", when hookd made the key itself (so the operator has a way in). */
  generatedAdminToken: string | null;
  /** Ends every topic stream with a "shutting-down" frame; call before closing the HTTP server, which waits for open requests. */
  closeStreams(): Promise<void>;
  stop(): Promise<void>;
};

// A body is stored base64 inside a JSON event (4/3 of its size); the rest is room for headers and the envelope.
const JOURNAL_OVERHEAD = 64 * 1024;

/** The largest body whose journal event still fits in one NATS message. */
export function fitBodyLimit(configured: number, maxPayload: number): number {
  return Math.max(0, Math.min(configured, Math.floor(((maxPayload - JOURNAL_OVERHEAD) * 3) / 4)));
}

export type StartOptions = {
  metrics?: HookdMetrics;
  /** The runtime's WebSocket upgrade, from the entry point (Node and Deno each have their own). */
  upgradeWebSocket?: UpgradeWebSocket;
  /** Starts a topic stream's response that the runtime writes directly (Node), skipping a web stream per listener. */
  openNativeStream?: (c: Context, headers: Record<string, string>) => NativeStream | null;
};

export async function startHookd(config: Config, log: Logger, options: StartOptions = {}): Promise<Hookd> {
  const { key, generated } = await loadOrCreateKey(config.HOOKD_DATA_DIR, config.HOOKD_KEY);
  const tokens = new PathTokens(key);

  let embedded: NatsServerHandle | null = null;
  let natsUrl = config.NATS_URL;
  if (!natsUrl) {
    embedded = await startNatsServer({ dir: join(config.HOOKD_DATA_DIR, "nats"), bin: config.HOOKD_NATS_SERVER_BIN, maxPayloadBytes: 8 * 1024 * 1024 });
    natsUrl = embedded.url;
    log.info({ nats: natsUrl, store: join(config.HOOKD_DATA_DIR, "nats") }, "started embedded nats-server");
  }

  try {
    const link = await openNats(natsUrl, `hookd@${hostname()}`);
    const maxBodyBytes = fitBodyLimit(config.HOOKD_MAX_BODY, link.nc.info?.max_payload ?? 1024 * 1024);
    if (maxBodyBytes < config.HOOKD_MAX_BODY) {
      log.warn(
        { configured: config.HOOKD_MAX_BODY, effective: maxBodyBytes, nats_max_payload: link.nc.info?.max_payload },
        "NATS max_payload is too small for HOOKD_MAX_BODY; accepting smaller bodies (raise max_payload in nats-server's config to lift this)",
      );
    }
    const jsm = await jetstreamManager(link.nc);
    const js = jetstream(link.nc);
    await ensureStreams(jsm, {
      journalMaxAgeMs: config.HOOKD_JOURNAL_MAX_AGE,
      topicMaxAgeMs: config.HOOKD_TOPIC_MAX_AGE,
      idempotencyWindowMs: config.HOOKD_IDEMPOTENCY_WINDOW,
      ackWaitMs: ackWaitFor(config),
      maxAckPending: config.HOOKD_MAX_BACKLOG,
    });

    await ensureRateStream(jsm);
    const publisher = new JetStreamPublisher(link.nc);
    const store = new DeliveryStore(js, jsm, publisher);
    const commands = new DeliveryCommands({
      store,
      batcher: new IngestBatcher({
        publisher,
        clock: Date.now,
        randomBytes,
        maxPayload: () => link.nc.info?.max_payload ?? 1024 * 1024,
        storeOne: (id, created) => store.storeCreatedOnce(id, created),
      }),
      clock: Date.now,
      randomBytes,
      schedule: config.HOOKD_RETRY_SCHEDULE,
    });
    const policy = new NetworkPolicy(config.HOOKD_ALLOWED_NETWORKS);
    const metrics = options.metrics ?? new HookdMetrics();
    const attempter = createHttpAttempter({ timeoutMs: config.HOOKD_TIMEOUT, policy });

    const topics = new TopicLog(jsm, publisher);
    const subscriptionStore = new SubscriptionStore(js, jsm, publisher);
    const directory = new SubscriptionDirectory();
    const announce = systemEventPublisher(topics, Date.now, log);
    const subscriptions = new SubscriptionCommands({
      store: subscriptionStore,
      clock: Date.now,
      failureThreshold: config.HOOKD_FAILURE_THRESHOLD,
      onChange: (id, subscription, seq, previousState) => {
        directory.apply(id, subscription, seq);
        // The instance that made a change announces it, so each change is announced once.
        void announce(id, previousState, subscription);
      },
    });
    const health = new SubscriptionHealth({ subscriptions, directory, clock: Date.now, log });
    // Every existing subscription is indexed before the config file is applied and before fan-out starts.
    await directory.start(subscriptionStore, log);
    const configFile = config.HOOKD_CONFIG ? parseStaticConfig(await readFile(config.HOOKD_CONFIG, "utf8"), config.HOOKD_CONFIG) : null;
    if (configFile) {
      const counts = await syncStaticSubscriptions(configFile, { subscriptions, directory, log });
      log.info({ file: config.HOOKD_CONFIG, subscriptions: configFile.subscriptions.length, routers: configFile.routers.length, ...counts }, "applied the config file");
    }
    const attemptLog = new AttemptLog(jsm, publisher);
    const hub = new WebSubHub({ subscriptions, directory, http: attempter, topics, js, clock: Date.now, log, maxBodyBytes });

    const publicBase = config.HOOKD_PUBLIC_URL?.replace(/\/+$/, "") ?? (config.HOOKD_PORT !== 0 ? `http://${config.HOOKD_HOST}:${config.HOOKD_PORT}` : undefined);
    const fanOutHandler = new FanOut({ index: directory.index, deliveries: store, defaultSchedule: config.HOOKD_RETRY_SCHEDULE, log, publicBase });
    let workQueue: WorkQueueRunner | null = null;
    let fanOut: WorkQueueRunner | null = null;
    let expander: WorkQueueRunner | null = null;
    let routers: TopicRouters | null = null;
    if (config.HOOKD_WORKERS === "on") {
      const worker = new DeliveryWorker({
        store,
        attempter,
        clock: Date.now,
        random: Math.random,
        log,
        leaseMs: ackWaitFor(config),
        workerId: config.HOOKD_INSTANCE_ID ?? `${hostname()}:${process.pid}`,
        metrics,
        topics,
        onFanOutFinished: (outcome) => health.deliveryFinished(outcome),
        rateLimiter: new RateLimiter(jsm, publisher),
        onLease: (message) => hub.handleLease(message),
        perOriginLimit: Math.max(1, Math.floor(config.HOOKD_CONCURRENCY / 4)),
        // The delivery's journal has the attempt either way; a lost summary only shortens this list.
        onFanOutAttempt: (subscriptionId, attempt) =>
          void attemptLog.record(subscriptionId, attempt).catch((error: unknown) => log.warn({ err: error, subscriptionId }, "could not record the attempt summary")),
      });
      fanOut = await runWorkQueue({ js, concurrency: 16, handle: (message) => fanOutHandler.handle(message), log, stream: TOPIC_STREAM, consumer: FANOUT_CONSUMER });
      const spreader = new IngestExpander({ store, log });
      expander = await runWorkQueue({ js, concurrency: 8, handle: (message) => spreader.handle(message), log, stream: INGEST_STREAM, consumer: EXPANDER_CONSUMER });
      for (const router of unguardedRouters(configFile?.routers ?? [], configFile?.github.secrets ?? [])) {
        log.warn(
          { router: router.name, from: formatConfigTopic(router.from) },
          "no GitHub secret guards this router's topic, so whoever may publish there can make it announce pushes; add one under github.secrets in the config file",
        );
      }
      // Routers consume and republish like fan-out does, so an ingest-only instance runs none.
      routers = await startTopicRouters({ js, jsm, routers: configFile?.routers ?? [], deps: { topics, log, clock: Date.now }, inactiveMs: config.HOOKD_TOPIC_MAX_AGE });
      workQueue = await runWorkQueue({
        js,
        concurrency: config.HOOKD_CONCURRENCY,
        handle: (message) => worker.handle(message),
        log,
        onLoad: (active) => metrics.working.set(active),
      });
    }

    const feeds = new TopicFeeds(js, jsm, log);
    const streams = new TopicStreams({
      feeds,
      // A pull by bytes must fit the largest topic message (a GitHub envelope is the body in base64), or it would stall.
      replay: new TopicReplay(js, jsm, Math.max(config.HOOKD_STREAM_BUFFER, Math.min(link.nc.info?.max_payload ?? Infinity, Math.ceil((maxBodyBytes * 4) / 3) + 64 * 1024))),
      log,
      bufferBytes: config.HOOKD_STREAM_BUFFER,
      heartbeatMs: config.HOOKD_STREAM_HEARTBEAT,
      maxPerToken: config.HOOKD_STREAM_MAX_PER_TOKEN,
      onEnded: (reason) => metrics.streamsEnded.inc({ reason }),
    });

    const app = createApp({
      deliveries: commands,
      deliveryStore: store,
      tokens,
      policy,
      isNatsConnected: link.isConnected,
      defaultSecrets: config.HOOKD_SIGNING_SECRET ? [config.HOOKD_SIGNING_SECRET] : [],
      maxBodyBytes,
      log,
      metrics,
      topics,
      clock: Date.now,
      subscriptions,
      subscriptionDirectory: directory,
      replaySubscription: (input) => replaySubscription({ js, fanOut: fanOutHandler }, input),
      subscriptionAttempts: attemptLog,
      hub,
      githubSecrets: configFile?.github.secrets ?? [],
      streams,
      upgradeWebSocket: options.upgradeWebSocket,
      openNativeStream: options.openNativeStream,
      corsOrigins: config.HOOKD_CORS_ORIGINS,
    });

    return {
      app,
      natsUrl,
      generatedAdminToken: generated ? await tokens.tokenFor("/") : null,
      closeStreams: () => streams.closeAll(),
      async stop() {
        // Listeners are told to resume elsewhere before the NATS link goes.
        await streams.closeAll();
        await feeds.stop();
        await routers?.stop();
        await expander?.stop();
        await fanOut?.stop();
        await workQueue?.stop();
        directory.stop();
        await attempter.close();
        publisher.close();
        await link.close();
        await embedded?.stop();
      },
    };
  } catch (error) {
    await embedded?.stop();
    throw error;
  }
}
