import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { Hono, MiddlewareHandler } from "hono";
import type { TokenChecker } from "../domain/token-check.ts";
import type { NetworkPolicy } from "../delivery/network-policy.ts";
import type { Logger } from "../log.ts";
import { type HookdMetrics, MetricsUnavailableError } from "../metrics.ts";
import type { DeliveryStore } from "../nats/delivery-store.ts";
import type { DeliveryCommands } from "../runtime/delivery-commands.ts";
import { requireToken } from "./auth.ts";
import { mountDeliveryRoutes } from "./delivery-routes.ts";
import type { DeliveryListing } from "../nats/delivery-listing.ts";
import { mountDispatchRoutes } from "./dispatch-routes.ts";
import { mountProxyRoutes } from "./proxy-routes.ts";
import type { FirstAttemptWatch } from "../nats/first-attempt-watch.ts";
import { mountVerifyRoutes } from "./verify-routes.ts";
import type { AddressRateLimit } from "../domain/address-rate-limit.ts";
import { mountEventRoutes } from "./event-routes.ts";
import { mountTokenRoutes, type TokenRouteDeps } from "./token-routes.ts";
import { mountSecretRoutes } from "./secret-routes.ts";
import type { ResealReport } from "../runtime/secret-reseal.ts";
import { machineRoutes, MACHINES_PATH } from "./machine-routes.ts";
import { openApiDocument, openApiRoute } from "./openapi.ts";
import { type ApiApp, AUTH_PROBLEMS, defineRoute, json, NO_TOKEN, problems } from "./api-docs.ts";
import { ProblemError } from "./problem.ts";
import { invalid } from "./validation.ts";
import { mountPublishRoutes } from "./publish.ts";
import type { TopicLog } from "../nats/topic-log.ts";
import type { SubscriptionCommands } from "../runtime/subscription-commands.ts";
import type { SubscriptionDirectory } from "../runtime/subscription-directory.ts";
import type { ReplaySubscription } from "../runtime/replay.ts";
import { type SubscriptionRouteDeps, subscriptionRoutes, SUBSCRIPTIONS_PATH } from "./subscription-routes.ts";
import { mountHubRoutes } from "./hub-routes.ts";
import type { WebSubHub } from "../runtime/websub-hub.ts";
import type { GitHubSecretRule } from "../domain/github-signature.ts";
import { notFoundOrNotAllowed } from "./method-not-allowed.ts";
import { problemForError } from "./error-problems.ts";
import { mountStreamRoutes, requireUnsafeConsent, type StreamRouteDeps, UNSAFE_HEADER } from "./stream-routes.ts";
import { cors as corsMiddleware } from "hono/cors";
import type { TopicStreams } from "../runtime/topic-streams.ts";
import type { UpgradeWebSocket } from "hono/ws";
import type { ConsoleServices } from "../runtime/console-services.ts";
import type { DeliveryChangeFeed } from "../nats/delivery-change-feed.ts";
import { mountChangeRoutes } from "./change-routes.ts";
import { mountFleetRoutes } from "./fleet-routes.ts";
import { mountBulkRoutes } from "./bulk-routes.ts";
import type { OpenSseResponses } from "./change-sse.ts";
import { CONSOLE_PATH, consoleRoutes } from "../console/index.tsx";
import type { ConsoleAssets } from "../console/assets.ts";
import type { ConsoleServices as ConsolePageServices } from "../console/services.ts";

/** What the routes work with, each named for its kind of actor: deliveries, deliveryStore, subscriptions, subscriptionDirectory… */
export type AppDeps = {
  deliveries: DeliveryCommands;
  deliveryStore: DeliveryStore;
  /** The delivery list's index: pages and counts (GET /api/v1/deliveries, …/counts). */
  deliveryListing: DeliveryListing;
  tokens: TokenChecker;
  /** Revoking tokens: POST /api/v1/tokens/revoke. */
  tokenRoutes: TokenRouteDeps;
  /** After a key rotation: POST /api/v1/secrets/reseal. */
  resealSecrets: () => Promise<ResealReport>;
  policy: NetworkPolicy;
  isNatsConnected: () => boolean;
  /** Names of hookd's streams without a leader (JetStream electing one, or unreachable); empty when all are led. */
  leaderlessStreams?: () => Promise<string[]>;
  defaultSecrets: string[];
  /** Inline mode's journal watch and its longest wait (seconds); without the watch, Prefer: wait is ignored. */
  firstAttempts?: FirstAttemptWatch;
  maxWaitSeconds?: number;
  maxBodyBytes: number;
  log: Logger;
  metrics: HookdMetrics;
  topics: TopicLog;
  clock: () => number;
  subscriptions: SubscriptionCommands;
  subscriptionDirectory: SubscriptionDirectory;
  replaySubscription: ReplaySubscription;
  subscriptionAttempts: SubscriptionRouteDeps["subscriptionAttempts"];
  orderedLines: SubscriptionRouteDeps["orderedLines"];
  hub: WebSubHub;
  /** The config file's github.secrets: publishing to a topic they cover needs GitHub's signature. */
  githubSecrets?: readonly GitHubSecretRule[];
  streams: TopicStreams;
  /** The runtime's WebSocket upgrade (Node and Deno each have their own); without it /sub/ serves no WebSockets. */
  upgradeWebSocket?: UpgradeWebSocket | undefined;
  openNativeStream?: StreamRouteDeps["openNativeStream"];
  /** POST /verify's limit per client address (HOOKD_VERIFY_RATE); null for none. */
  verifyLimit: AddressRateLimit | null;
  /** POST /verify asks for a delivery it cannot find yet (its first attempt on the wire, record 31). */
  askForDelivery?: (id: string) => Promise<void>;
  /** The change feed, fleet figures and bulk actions (the console's services), and their SSE responses. */
  console: {
    services: ConsoleServices;
    feed: Pick<DeliveryChangeFeed, "seqBefore">;
    sseResponses: OpenSseResponses;
    bufferBytes: number;
    heartbeatMs: number;
  };
  /** Origins allowed to call hookd from a browser; empty sends no CORS headers. */
  corsOrigins?: readonly string[];
  /** The console's pages at /console (src/console/); without them, hookd serves no console. */
  consolePages?: { services: ConsolePageServices; assets: ConsoleAssets } | undefined;
};

function corsFor(origins: readonly string[]): MiddlewareHandler {
  return corsMiddleware({
    origin: origins.includes("*") ? "*" : [...origins],
    allowHeaders: [
      "authorization",
      "content-type",
      "last-event-id",
      "idempotency-key",
      "hookd-event-type",
      "prefer",
      UNSAFE_HEADER.toLowerCase(),
    ],
    exposeHeaders: [
      "location",
      "retry-after",
      "idempotent-replayed",
      "preference-applied",
      "hookd-delivery-id",
      "hookd-delivery-state",
      "hookd-response-truncated",
    ],
    maxAge: 600,
  });
}

const HealthSchema = z.object({
  status: z.enum(["ok", "degraded"]),
  nats: z.enum(["connected", "disconnected"]),
  // "leaderless": some stream has no leader (a NATS node died and JetStream is electing one), so writes to it fail.
  streams: z.enum(["led", "leaderless", "unknown"]),
  leaderless_streams: z.array(z.string()),
}).openapi("Health");

const healthRoute = createRoute({
  method: "get",
  path: "/healthz",
  operationId: "getHealth",
  summary: "Liveness and NATS connectivity",
  tags: ["meta"],
  security: NO_TOKEN,
  responses: {
    200: json("Connected to NATS, and every stream has a leader", HealthSchema),
    503: json("NATS disconnected, or a stream without a leader", HealthSchema),
  },
});

const metricsRoute = createRoute({
  method: "get",
  path: "/metrics",
  operationId: "getMetrics",
  summary: "Prometheus metrics",
  tags: ["meta"],
  responses: {
    200: {
      description: "Prometheus text exposition format",
      content: { "text/plain; version=0.0.4": { schema: { type: "string" as const } } },
    },
    ...AUTH_PROBLEMS,
    ...problems({ 503: "Every process's metrics could not be had (HOOKD_PROCESSES: one stuck or stopping)" }),
  },
});

async function healthOf(deps: Pick<AppDeps, "isNatsConnected" | "leaderlessStreams">) {
  const connected = deps.isNatsConnected();
  // Disconnected, nothing can be asked; the stream check is the streams' state as this instance can reach them.
  const leaderless = connected && deps.leaderlessStreams ? await deps.leaderlessStreams() : [];
  const ok = connected && leaderless.length === 0;
  return {
    status: ok ? "ok" as const : "degraded" as const,
    nats: connected ? "connected" as const : "disconnected" as const,
    streams: !connected ? "unknown" as const : leaderless.length > 0 ? "leaderless" as const : "led" as const,
    leaderless_streams: leaderless,
  };
}

/** Before the delivery routes: /api/v1/deliveries/changes must not be taken for a delivery's id. */
function mountConsoleRoutes(app: ApiApp, deps: AppDeps, cors: boolean): void {
  const shared = {
    console: deps.console.services,
    bufferBytes: deps.console.bufferBytes,
    heartbeatMs: deps.console.heartbeatMs,
    // The CORS middleware's headers go on Hono's response, which a directly written stream bypasses.
    openNativeStream: cors ? undefined : deps.openNativeStream,
    sseResponses: deps.console.sseResponses,
  };
  mountChangeRoutes(app, { ...shared, feed: deps.console.feed, clock: deps.clock });
  mountFleetRoutes(app, shared);
  mountBulkRoutes(app, shared);
}

function consoleDeps(app: Hono, deps: AppDeps, own: NonNullable<AppDeps["consolePages"]>) {
  return {
    ...own,
    tokens: deps.tokens,
    deliveries: deps.deliveries,
    deliveryStore: deps.deliveryStore,
    subscriptions: deps.subscriptions,
    subscriptionDirectory: deps.subscriptionDirectory,
    subscriptionAttempts: deps.subscriptionAttempts,
    replaySubscription: deps.replaySubscription,
    orderedLines: deps.orderedLines,
    events: deps,
    api: (request: Request) => app.fetch(request),
    clock: deps.clock,
    log: deps.log,
  };
}

/** GET /metrics: the gauges that read a part read it at each scrape; every process's metrics with HOOKD_PROCESSES. */
function mountMetricsRoute(app: ApiApp, deps: AppDeps): void {
  deps.metrics.readFrom({
    natsConnected: deps.isNatsConnected,
    streamsOpen: () => deps.streams.count,
    streamFeeds: () => deps.streams.feedCount,
  });
  defineRoute(app, metricsRoute, async (c) => {
    let text: string;
    try {
      text = await deps.metrics.exposition();
    } catch (error) {
      if (!(error instanceof MetricsUnavailableError)) throw error;
      // Part of the sum would read as counters reset (HOOKD_PROCESSES, record 41): a failed scrape is a gap instead.
      deps.log.warn({ err: error }, "a scrape of /metrics could not have every process's metrics");
      throw new ProblemError({
        status: 503,
        kind: "metrics-unavailable",
        title: "Metrics cannot be read now",
        detail: `${error.message}; scrape again`,
        headers: { "retry-after": "5" },
      });
    }
    return c.body(text, 200, { "content-type": deps.metrics.registry.contentType });
  });
}

export function createApp(deps: AppDeps): Hono {
  // A route's own validators (query, path) report through the same 400 as every other validation.
  const app: ApiApp = new OpenAPIHono({
    defaultHook: (result) => {
      if (!result.success) throw invalid(result.error.issues);
    },
  });

  app.openapi(healthRoute, async (c) => {
    const health = await healthOf(deps);
    return health.status === "ok" ? c.json(health, 200) : c.json(health, 503);
  });

  let openApi: Record<string, unknown> | undefined;
  defineRoute(app, openApiRoute, (c) => c.json(openApi ??= openApiDocument(app), 200));

  // Before auth: a browser's preflight carries no token, and must be answered for the real request to follow.
  const cors = deps.corsOrigins !== undefined && deps.corsOrigins.length > 0;
  if (cors) app.use("*", corsFor(deps.corsOrigins!));
  // The consent header is checked before the token, so a client missing it is told exactly what to send.
  app.use("/unsafe/sub/*", requireUnsafeConsent);
  app.use("*", requireToken(deps.tokens));
  mountMetricsRoute(app, deps);

  mountDispatchRoutes(app, deps);
  mountVerifyRoutes(app, deps);
  mountPublishRoutes(app, deps);
  mountStreamRoutes(app, {
    streams: deps.streams,
    clock: deps.clock,
    upgradeWebSocket: deps.upgradeWebSocket,
    // The CORS middleware puts its headers on Hono's response, which a directly written stream bypasses: web streams then.
    openNativeStream: cors ? undefined : deps.openNativeStream,
  });
  app.route(SUBSCRIPTIONS_PATH, subscriptionRoutes(deps));
  mountHubRoutes(app, deps);
  mountConsoleRoutes(app, deps, cors);
  mountDeliveryRoutes(app, deps);
  mountEventRoutes(app, deps);
  mountTokenRoutes(app, deps.tokenRoutes);
  mountSecretRoutes(app, deps.resealSecrets);
  app.route(MACHINES_PATH, machineRoutes());
  if (deps.consolePages) app.route(CONSOLE_PATH, consoleRoutes(consoleDeps(app, deps, deps.consolePages)));
  // Last, though it cannot shadow any route above: it takes only paths whose first segment is a host (proxy-target.ts).
  mountProxyRoutes(app, deps);

  app.notFound(notFoundOrNotAllowed(app));

  app.onError((error, c) => problemForError(c, error, deps));

  return app;
}
