import { type Context, Hono } from "hono";
import type { z } from "zod";
import { ulid } from "../domain/ids.ts";
import type { Dialect } from "../domain/signing-dialect.ts";
import { generateSecret, rotatedSecrets, secretProblem } from "../domain/subscription-secret.ts";
import { subscriptionConfigOf, withSettings } from "../domain/subscription-settings.ts";
import { parseTopic, TopicNameError, type TopicPattern } from "../domain/topic-name.ts";
import type { NetworkPolicy } from "../delivery/network-policy.ts";
import type { AttemptLog } from "../nats/attempt-log.ts";
import type { StoredSubscription } from "../nats/subscription-store.ts";
import { TransitionRefusedError } from "../runtime/errors.ts";
import type { SubscriptionCommands } from "../runtime/subscription-commands.ts";
import type { SubscriptionDirectory } from "../runtime/subscription-directory.ts";
import { readJsonBody } from "./json-body.ts";
import { badRequest } from "./problem.ts";
import {
  AttemptsQuerySchema,
  CreateSubscriptionBodySchema,
  ListSubscriptionsQuerySchema,
  ReplayBodySchema,
  RotateSecretBodySchema,
  UpdateSubscriptionBodySchema,
} from "./subscription-schemas.ts";
import { subscriptionView } from "./subscription-view.ts";
import { validateTarget } from "./target-url.ts";
import { NoQuerySchema, query } from "./query.ts";

/**
 * REST Hooks: subscriptions under /api/v1/subscriptions, as Zapier's REST Hooks describe them. A
 * Hono sub-app, so app.ts mounts it with app.route and a route definition names its own schemas.
 */

export const SUBSCRIPTIONS_PATH = "/api/v1/subscriptions";

export type SubscriptionRouteDeps = {
  subscriptions: SubscriptionCommands;
  subscriptionDirectory: SubscriptionDirectory;
  policy: NetworkPolicy;
  /** Delivers the subscription's events of a time window again (runtime/replay.ts). */
  replaySubscription: (input: {
    subscriptionId: string;
    subscription: StoredSubscription;
    replayId: string;
    since: Date;
    until: Date;
  }) => Promise<{ events: number; deliveries: number; truncated: boolean }>;
  subscriptionAttempts: AttemptLog;
};

export function subscriptionRoutes(deps: SubscriptionRouteDeps): Hono {
  const routes = new Hono();
  const none = query(NoQuerySchema);
  routes.post("/", none, (c) => create(c, deps));
  routes.get("/", query(ListSubscriptionsQuerySchema), (c) => list(c, c.req.valid("query"), deps));
  routes.get("/:id", none, async (c) => {
    const id = c.req.param("id");
    return c.json(subscriptionView(id, await deps.subscriptions.get(id)));
  });
  routes.patch("/:id", none, (c) => update(c, c.req.param("id"), deps));
  routes.delete("/:id", none, async (c) => {
    await deps.subscriptions.unsubscribe(c.req.param("id"));
    return c.body(null, 204);
  });
  routes.post("/:id/activate", none, async (c) => {
    const id = c.req.param("id");
    return c.json(subscriptionView(id, await deps.subscriptions.activate(id)));
  });
  routes.post("/:id/deactivate", none, async (c) => {
    const id = c.req.param("id");
    return c.json(subscriptionView(id, await deps.subscriptions.deactivate(id)));
  });
  routes.post("/:id/rotate-secret", none, (c) => rotateSecret(c, c.req.param("id"), deps));
  routes.post("/:id/replay", none, (c) => replay(c, c.req.param("id"), deps));
  routes.get("/:id/attempts", query(AttemptsQuerySchema), async (c) => {
    const id = c.req.param("id");
    const { limit } = c.req.valid("query");
    await deps.subscriptions.get(id);
    return c.json({ data: await deps.subscriptionAttempts.recent(id, limit) });
  });
  return routes;
}

function topicOr400(text: string): TopicPattern {
  try {
    return parseTopic(text, { allowRecursive: true });
  } catch (error) {
    if (!(error instanceof TopicNameError)) throw error;
    throw badRequest(`topic: ${error.message}`, { field: "topic" });
  }
}

/** The secret to sign with: the one given, once the dialect's rules allow it, or a new one; none for plain. */
function secretFor(dialect: Exclude<Dialect, "plain">, given: string | undefined): string;
function secretFor(dialect: Dialect, given: string | undefined): string | null;
function secretFor(dialect: Dialect, given: string | undefined): string | null {
  const problem = secretProblem(dialect, given, "api");
  if (problem !== null) throw badRequest(problem, { field: "secret" });
  return dialect === "plain" ? null : (given ?? generateSecret(dialect));
}

async function create(c: Context, deps: SubscriptionRouteDeps): Promise<Response> {
  const body = await readJsonBody(c, CreateSubscriptionBodySchema);
  const { topic, recursive } = topicOr400(body.topic);
  const url = validateTarget(body.url, "url", deps.policy).toString();
  const secret = secretFor(body.dialect, body.secret);
  const secrets = secret === null ? [] : [{ secret, expiresAt: null }];
  const config = subscriptionConfigOf({ topic, recursive, url, secrets, source: "api" }, body);
  const created = await deps.subscriptions.create(config);
  // The secret is shown this once; later reads never include it.
  const location = `${SUBSCRIPTIONS_PATH}/${created.id}`;
  return c.json({ ...subscriptionView(created.id, created), secret }, 201, { location });
}

function list(
  c: Context,
  query: z.output<typeof ListSubscriptionsQuerySchema>,
  deps: SubscriptionRouteDeps,
): Response {
  const { topic, owner, state, cursor } = query;
  const page = deps.subscriptionDirectory.list({ topic, owner, state, before: cursor, limit: query.limit + 1 });
  const data = page.slice(0, query.limit).map((target) => subscriptionView(target.id, target.subscription));
  return c.json({ data, next_cursor: page.length > query.limit ? data.at(-1)!.id : null });
}

async function update(c: Context, id: string, deps: SubscriptionRouteDeps): Promise<Response> {
  const body = await readJsonBody(c, UpdateSubscriptionBodySchema);
  const url = body.url === undefined ? undefined : validateTarget(body.url, "url", deps.policy).toString();
  const updated = await deps.subscriptions.update(id, (config) => ({
    config: withSettings(config, { ...body, url }),
    changed: Object.keys(body),
  }));
  return c.json(subscriptionView(id, updated));
}

async function rotateSecret(c: Context, id: string, deps: SubscriptionRouteDeps): Promise<Response> {
  const body = await readJsonBody(c, RotateSecretBodySchema, { whenEmpty: {} });
  let secret: string | null = null;
  const graceUntil = Date.now() + body.grace_period;
  const updated = await deps.subscriptions.update(id, (config) => {
    if (config.dialect === "plain") {
      throw badRequest("a plain subscription is not signed, so it has no secret to rotate", { field: "dialect" });
    }
    const next = secretFor(config.dialect, body.secret);
    secret = next;
    const secrets = rotatedSecrets(config.secrets, next, graceUntil, Date.now());
    return { config: { ...config, secrets }, changed: ["secret"] };
  });
  const previousExpire = new Date(graceUntil).toISOString();
  return c.json({ ...subscriptionView(id, updated), secret, previous_secrets_expire_at: previousExpire });
}

async function replay(c: Context, id: string, deps: SubscriptionRouteDeps): Promise<Response> {
  const body = await readJsonBody(c, ReplayBodySchema);
  const until = body.until ?? new Date();
  if (until.getTime() < body.since.getTime()) throw badRequest("until must not be before since", { field: "until" });
  const subscription = await deps.subscriptions.get(id);
  if (subscription.state !== "active") {
    throw new TransitionRefusedError("subscription", "replayed (activate it first)", subscription.state);
  }
  const replayId = "rpl_" + ulid(Date.now(), crypto.getRandomValues(new Uint8Array(10)));
  const { since } = body;
  const result = await deps.replaySubscription({ subscriptionId: id, subscription, replayId, since, until });
  return c.json({ replay_id: replayId, since: since.toISOString(), until: until.toISOString(), ...result }, 202);
}
