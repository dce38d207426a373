import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { Hono, MiddlewareHandler } from "hono";
import type { TokenChecker } from "../domain/token-check.ts";
import type { NetworkPolicy } from "../delivery/network-policy.ts";
import type { Logger } from "../log.ts";
import type { HookdMetrics } from "../metrics.ts";
import type { DeliveryStore } from "../nats/delivery-store.ts";
import type { DeliveryCommands } from "../runtime/delivery-commands.ts";
import { requireToken } from "./auth.ts";
import { mountDeliveryRoutes } from "./delivery-routes.ts";
import { mountDispatchRoutes } from "./dispatch-routes.ts";
import { mountProxyRoutes } from "./proxy-routes.ts";
import { mountVerifyRoutes } from "./verify-routes.ts";
import type { AddressRateLimit } from "../domain/address-rate-limit.ts";
import { mountEventRoutes } from "./event-routes.ts";
import { mountTokenRoutes, type TokenRouteDeps } from "./token-routes.ts";
import { mountSecretRoutes } from "./secret-routes.ts";
import type { ResealReport } from "../runtime/secret-reseal.ts";
import { machineRoutes, MACHINES_PATH } from "./machine-routes.ts";
import { openApiDocument, openApiRoute } from "./openapi.ts";
import { type ApiApp, AUTH_PROBLEMS, defineRoute, json, NO_TOKEN } from "./api-docs.ts";
import { invalid } from "./validation.ts";
import { mountPublishRoutes } from "./publish.ts";
import type { TopicLog } from "../nats/topic-log.ts";
import type { SubscriptionCommands } from "../runtime/subscription-commands.ts";
import type { SubscriptionDirectory } from "../runtime/subscription-directory.ts";
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
import { CONSOLE_PATH, consoleRoutes } from "../console/index.tsx";
import type { ConsoleAssets } from "../console/assets.ts";
import type { ConsoleServices } from "../console/services.ts";

/** What the routes work with, each named for its kind of actor: deliveries, deliveryStore, subscriptions, subscriptionDirectory… */
export type AppDeps = {
  deliveries: DeliveryCommands;
  deliveryStore: DeliveryStore;
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
  maxBodyBytes: number;
  log: Logger;
  metrics: HookdMetrics;
  topics: TopicLog;
  clock: () => number;
  subscriptions: SubscriptionCommands;
  subscriptionDirectory: SubscriptionDirectory;
  replaySubscription: SubscriptionRouteDeps["replaySubscription"];
  subscriptionAttempts: SubscriptionRouteDeps["subscriptionAttempts"];
  hub: WebSubHub;
  /** The config file's github.secrets: publishing to a topic they cover needs GitHub's signature. */
  githubSecrets?: readonly GitHubSecretRule[];
  streams: TopicStreams;
  /** The runtime's WebSocket upgrade (Node and Deno each have their own); without it /sub/ serves no WebSockets. */
  upgradeWebSocket?: UpgradeWebSocket | undefined;
  openNativeStream?: StreamRouteDeps["openNativeStream"];
  /** POST /verify's limit per client address (HOOKD_VERIFY_RATE); null for none. */
  verifyLimit: AddressRateLimit | null;
  /** Origins allowed to call hookd from a browser; empty sends no CORS headers. */
  corsOrigins?: readonly string[];
  /** The console at /console (src/console/); without it, hookd serves no console. */
  console?: { services: ConsoleServices; assets: ConsoleAssets } | undefined;
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
      UNSAFE_HEADER.toLowerCase(),
    ],
    exposeHeaders: ["location", "retry-after", "idempotent-replayed"],
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

function consoleDeps(app: Hono, deps: AppDeps, own: NonNullable<AppDeps["console"]>) {
  return {
    ...own,
    tokens: deps.tokens,
    deliveries: deps.deliveries,
    deliveryStore: deps.deliveryStore,
    subscriptions: deps.subscriptions,
    subscriptionDirectory: deps.subscriptionDirectory,
    subscriptionAttempts: deps.subscriptionAttempts,
    replaySubscription: deps.replaySubscription,
    events: deps,
    api: (request: Request) => app.fetch(request),
    clock: deps.clock,
  };
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
  defineRoute(app, metricsRoute, async (c) => {
    deps.metrics.natsConnected.set(deps.isNatsConnected() ? 1 : 0);
    deps.metrics.streamsOpen.set(deps.streams.count);
    deps.metrics.streamFeeds.set(deps.streams.feedCount);
    return c.body(await deps.metrics.registry.metrics(), 200, { "content-type": deps.metrics.registry.contentType });
  });

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
  mountDeliveryRoutes(app, deps);
  mountEventRoutes(app, deps);
  mountTokenRoutes(app, deps.tokenRoutes);
  mountSecretRoutes(app, deps.resealSecrets);
  app.route(MACHINES_PATH, machineRoutes());
  if (deps.console) app.route(CONSOLE_PATH, consoleRoutes(consoleDeps(app, deps, deps.console)));
  // Last, though it cannot shadow any route above: it takes only paths whose first segment is a host (proxy-target.ts).
  mountProxyRoutes(app, deps);

  app.notFound(notFoundOrNotAllowed(app));

  app.onError((error, c) => problemForError(c, error, deps));

  return app;
}
