import type { Context, Hono } from "hono";
import { z } from "zod";
import { subscriptionMachine } from "../../actors/subscription.machine.ts";
import { describeMachine } from "../../actors/machine-graph.ts";
import { toBase64 } from "../domain/bytes.ts";
import { parseDuration } from "../domain/duration.ts";
import { EVENT_TYPE_PATTERN } from "../domain/event-type.ts";
import { lowercaseHeaderNames } from "../domain/header-names.ts";
import { parseRetrySchedule } from "../domain/retry-policy.ts";
import { encodeSecret, isValidSecret } from "../domain/sign-standard-webhooks.ts";
import type { SubscriptionConfig } from "../domain/subscription-events.ts";
import { parseTopic, patternText, TopicNameError } from "../domain/topic-name.ts";
import type { NetworkPolicy } from "../delivery/network-policy.ts";
import type { StoredSubscription } from "../nats/subscription-store.ts";
import type { AttemptLog } from "../nats/attempt-log.ts";
import type { SubscriptionCommands } from "../runtime/subscription-commands.ts";
import type { SubscriptionDirectory } from "../runtime/subscription-directory.ts";
import { TransitionRefusedError } from "../runtime/errors.ts";
import { ulid } from "../domain/ids.ts";
import { HeaderMapSchema, parseOr400 } from "./validation.ts";
import { badRequest } from "./problem.ts";
import { readBody } from "./read-body.ts";
import { validateTarget } from "./target-url.ts";

/** REST Hooks: subscriptions under /api/v1/subscriptions, as Zapier's REST Hooks describe them. */


const RetryScheduleSchema = z
  .string()
  .transform((text, ctx) => {
    try {
      return parseRetrySchedule(text);
    } catch (error) {
      ctx.addIssue({ code: "custom", message: `retry_schedule ${(error as Error).message}` });
      return z.NEVER;
    }
  })
  .describe('comma-separated waits between attempts, e.g. "5s,30s,2m"');

const settings = {
  url: z.string({ error: "url is required: the callback URL to deliver to" }),
  event_types: z.array(z.string().regex(EVENT_TYPE_PATTERN, "event types look like contact.create")).min(1).max(100).nullable(),
  owner: z.string().min(1).max(200).nullable(),
  description: z.string().max(1000).nullable(),
  headers: HeaderMapSchema,
  dialect: z.enum(["standard-webhooks", "websub", "plain"], { error: "dialect must be standard-webhooks, websub or plain" }),
  retry_schedule: RetryScheduleSchema.nullable(),
  rate_limit: z.number({ error: "rate_limit is deliveries per second, a number" }).positive("rate_limit must be above 0").max(10_000, "rate_limit is at most 10000").nullable(),
  metadata: z.record(z.string().max(100), z.string().max(1000)),
};

export const CreateSubscriptionBodySchema = z
  .object({
    topic: z.string({ error: 'topic is required: a topic such as "orders", or "orders/" for everything below it' }),
    secret: z.string().optional(),
    ...settings,
    event_types: settings.event_types.optional(),
    owner: settings.owner.optional(),
    description: settings.description.optional(),
    headers: settings.headers.default({}),
    dialect: settings.dialect.default("standard-webhooks"),
    retry_schedule: settings.retry_schedule.optional(),
    rate_limit: settings.rate_limit.optional(),
    metadata: settings.metadata.default({}),
  })
  .strict();

export const RotateSecretBodySchema = z
  .object({
    secret: z.string().optional(),
    grace_period: z
      .string()
      .default("24h")
      .transform((text, ctx) => {
        try {
          const ms = parseDuration(text);
          if (ms > 30 * 86_400_000) throw new Error("is at most 30d");
          return ms;
        } catch (error) {
          ctx.addIssue({ code: "custom", message: `grace_period ${(error as Error).message}` });
          return z.NEVER;
        }
      }),
  })
  .strict();

export const UpdateSubscriptionBodySchema = z.object(settings).partial().strict();

export const ListSubscriptionsQuerySchema = z.object({
  topic: z.string().optional(),
  owner: z.string().optional(),
  state: z.enum(["pending-verification", "active", "paused", "disabled", "expired"]).optional(),
  limit: z.coerce.number().int().min(1).max(100, "limit is at most 100").default(50),
  cursor: z.string().optional(),
});

export function subscriptionView(id: string, subscription: StoredSubscription) {
  const { config, state, context } = subscription;
  return {
    id,
    topic: patternText(config),
    url: config.url,
    state,
    status_message: context.statusMessage,
    event_types: config.eventTypes,
    owner: config.owner,
    description: config.description,
    headers: config.headers,
    dialect: config.dialect,
    retry_schedule_ms: config.retrySchedule,
    rate_limit: config.rateLimit ?? null,
    metadata: config.metadata,
    consecutive_failures: context.consecutiveFailures,
    lease_expires_at: context.expiresAt === null ? null : new Date(context.expiresAt).toISOString(),
    created_at: subscription.createdAt,
    updated_at: subscription.updatedAt,
  };
}

function secretFor(dialect: SubscriptionConfig["dialect"], given: string | undefined): string | null {
  if (dialect === "plain") {
    if (given !== undefined) throw badRequest("a plain subscription is not signed: leave out secret, or choose another dialect", { field: "secret" });
    return null;
  }
  if (given === undefined) {
    const key = crypto.getRandomValues(new Uint8Array(24));
    return dialect === "standard-webhooks" ? encodeSecret(key) : toBase64(key);
  }
  if (dialect === "standard-webhooks" && !isValidSecret(given)) {
    throw badRequest("secret must be a Standard Webhooks secret: whsec_ followed by base64 of 16 to 64 bytes (or leave it out to get one)", { field: "secret" });
  }
  if (dialect === "websub" && (given.length === 0 || new TextEncoder().encode(given).length >= 200)) {
    throw badRequest("a WebSub secret must be 1 to 199 bytes", { field: "secret" });
  }
  return given;
}

export type SubscriptionRouteDeps = {
  subscriptions: SubscriptionCommands;
  directory: SubscriptionDirectory;
  policy: NetworkPolicy;
  replay: (input: { subscriptionId: string; subscription: StoredSubscription; replayId: string; since: Date; until: Date }) => Promise<{
    events: number;
    deliveries: number;
    truncated: boolean;
  }>;
  attempts: AttemptLog;
};

const Timestamp = (field: string) =>
  z.string().transform((text, ctx) => {
    const ms = Date.parse(text);
    if (Number.isNaN(ms)) {
      ctx.addIssue({ code: "custom", message: `${field} must be an ISO 8601 time such as 2026-11-23T10:00:00Z` });
      return z.NEVER;
    }
    return new Date(ms);
  });

export const ReplayBodySchema = z.object({ since: Timestamp("since"), until: Timestamp("until").optional() }).strict();

/** The request's JSON body; an empty body reads as `empty` when one is given (for bodies whose fields all have defaults). */
async function jsonBody(c: Context, maxBytes: number, empty?: unknown): Promise<unknown> {
  const raw = await readBody(c, maxBytes);
  if (raw.length === 0 && empty !== undefined) return empty;
  try {
    return JSON.parse(new TextDecoder().decode(raw));
  } catch {
    throw badRequest("The body must be a JSON object.");
  }
}

export function mountSubscriptionRoutes(app: Hono, deps: SubscriptionRouteDeps): void {
  app.post("/api/v1/subscriptions", async (c) => {
    const body = parseOr400(CreateSubscriptionBodySchema, await jsonBody(c, 64 * 1024));
    let pattern;
    try {
      pattern = parseTopic(body.topic, { allowRecursive: true });
    } catch (error) {
      if (!(error instanceof TopicNameError)) throw error;
      throw badRequest(`topic: ${error.message}`, { field: "topic" });
    }
    const url = validateTarget(body.url, "url", deps.policy).toString();
    const secret = secretFor(body.dialect, body.secret);
    const created = await deps.subscriptions.create({
      topic: pattern.topic,
      recursive: pattern.recursive,
      url,
      secrets: secret === null ? [] : [{ secret, expiresAt: null }],
      eventTypes: body.event_types ?? null,
      owner: body.owner ?? null,
      description: body.description ?? null,
      headers: lowercaseHeaderNames(body.headers),
      dialect: body.dialect,
      retrySchedule: body.retry_schedule ?? null,
      rateLimit: body.rate_limit ?? null,
      metadata: body.metadata,
      source: "api",
    });
    // The secret is shown this once; later reads never include it.
    return c.json({ ...subscriptionView(created.id, created), secret }, 201, { location: `/api/v1/subscriptions/${created.id}` });
  });

  app.get("/api/v1/subscriptions", (c) => {
    const query = parseOr400(ListSubscriptionsQuerySchema, c.req.query());
    const page = deps.directory.list({ topic: query.topic, owner: query.owner, state: query.state, before: query.cursor, limit: query.limit + 1 });
    const data = page.slice(0, query.limit).map((target) => subscriptionView(target.id, target.subscription));
    return c.json({ data, next_cursor: page.length > query.limit ? data.at(-1)!.id : null });
  });

  app.get("/api/v1/subscriptions/:id", async (c) => {
    const id = c.req.param("id");
    return c.json(subscriptionView(id, await deps.subscriptions.get(id)));
  });

  app.patch("/api/v1/subscriptions/:id", async (c) => {
    const id = c.req.param("id");
    const body = parseOr400(UpdateSubscriptionBodySchema, await jsonBody(c, 64 * 1024));
    const url = body.url === undefined ? undefined : validateTarget(body.url, "url", deps.policy).toString();
    const updated = await deps.subscriptions.update(id, (config) => {
      const next: SubscriptionConfig = {
        ...config,
        ...(url !== undefined ? { url } : {}),
        ...(body.event_types !== undefined ? { eventTypes: body.event_types } : {}),
        ...(body.owner !== undefined ? { owner: body.owner } : {}),
        ...(body.description !== undefined ? { description: body.description } : {}),
        ...(body.headers !== undefined ? { headers: lowercaseHeaderNames(body.headers) } : {}),
        ...(body.dialect !== undefined ? { dialect: body.dialect } : {}),
        ...(body.retry_schedule !== undefined ? { retrySchedule: body.retry_schedule } : {}),
        ...(body.rate_limit !== undefined ? { rateLimit: body.rate_limit } : {}),
        ...(body.metadata !== undefined ? { metadata: body.metadata } : {}),
      };
      return { config: next, changed: Object.keys(body) };
    });
    return c.json(subscriptionView(id, updated));
  });

  app.delete("/api/v1/subscriptions/:id", async (c) => {
    await deps.subscriptions.unsubscribe(c.req.param("id"));
    return c.body(null, 204);
  });

  app.post("/api/v1/subscriptions/:id/activate", async (c) => {
    const id = c.req.param("id");
    return c.json(subscriptionView(id, await deps.subscriptions.activate(id)));
  });

  app.post("/api/v1/subscriptions/:id/deactivate", async (c) => {
    const id = c.req.param("id");
    return c.json(subscriptionView(id, await deps.subscriptions.deactivate(id)));
  });

  app.post("/api/v1/subscriptions/:id/rotate-secret", async (c) => {
    const id = c.req.param("id");
    const body = parseOr400(RotateSecretBodySchema, await jsonBody(c, 64 * 1024, {}));
    let secret: string | null = null;
    const graceUntil = Date.now() + body.grace_period;
    const updated = await deps.subscriptions.update(id, (config) => {
      if (config.dialect === "plain") throw badRequest("a plain subscription is not signed, so it has no secret to rotate", { field: "dialect" });
      secret = secretFor(config.dialect, body.secret);
      // The old secrets keep signing beside the new one until the grace period ends; long-expired ones are dropped.
      const kept = config.secrets
        .filter((entry) => entry.expiresAt === null || entry.expiresAt > Date.now())
        .map((entry) => ({ secret: entry.secret, expiresAt: entry.expiresAt === null ? graceUntil : Math.min(entry.expiresAt, graceUntil) }));
      return { config: { ...config, secrets: [{ secret: secret!, expiresAt: null }, ...kept] }, changed: ["secret"] };
    });
    return c.json({ ...subscriptionView(id, updated), secret, previous_secrets_expire_at: new Date(graceUntil).toISOString() });
  });

  app.post("/api/v1/subscriptions/:id/replay", async (c) => {
    const id = c.req.param("id");
    const body = parseOr400(ReplayBodySchema, await jsonBody(c, 64 * 1024));
    const until = body.until ?? new Date();
    if (until.getTime() < body.since.getTime()) throw badRequest("until must not be before since", { field: "until" });
    const subscription = await deps.subscriptions.get(id);
    if (subscription.state !== "active") {
      throw new TransitionRefusedError("subscription", "replayed (activate it first)", subscription.state);
    }
    const replayId = "rpl_" + ulid(Date.now(), crypto.getRandomValues(new Uint8Array(10)));
    const result = await deps.replay({ subscriptionId: id, subscription, replayId, since: body.since, until });
    return c.json({ replay_id: replayId, since: body.since.toISOString(), until: until.toISOString(), ...result }, 202);
  });

  app.get("/api/v1/subscriptions/:id/attempts", async (c) => {
    const id = c.req.param("id");
    const { limit } = parseOr400(z.object({ limit: z.coerce.number().int().min(1).max(100, "limit is at most 100").default(50) }), c.req.query());
    await deps.subscriptions.get(id);
    return c.json({ data: await deps.attempts.recent(id, limit) });
  });

  const graph = describeMachine(subscriptionMachine);
  app.get("/api/v1/machines/subscription", (c) => c.json(graph));
}
