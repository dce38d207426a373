import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { BlankEnv, BlankSchema } from "hono/types";
import { z } from "zod";
import { AttemptSummarySchema } from "../domain/delivery-event-views.ts";
import { ulid } from "../domain/ids.ts";
import type { Dialect } from "../domain/signing-dialect.ts";
import { generateSecret, secretProblem } from "../domain/subscription-secret.ts";
import type { ReplaySubscription } from "../runtime/replay.ts";
import { rotateSubscriptionSecret } from "../runtime/subscription-secret-rotation.ts";
import { subscriptionConfigOf, withSettings } from "../domain/subscription-settings.ts";
import { parseTopic, TopicNameError, type TopicPattern } from "../domain/topic-name.ts";
import type { NetworkPolicy } from "../delivery/network-policy.ts";
import type { SubscriptionAttempts } from "../runtime/subscription-attempts.ts";
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
import {
  orderedLineView,
  OrderedLineViewSchema,
  subscriptionView,
  SubscriptionViewSchema,
} from "../runtime/subscription-view.ts";
import type { OrderedLines } from "../runtime/ordered-lines.ts";
import { AUTH_PROBLEMS, bodyRef, defineRoute, IdParamsSchema, json, problems } from "./api-docs.ts";
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
  replaySubscription: ReplaySubscription;
  subscriptionAttempts: Pick<SubscriptionAttempts, "recent">;
  /** Where each ordered subscription's line stands, for GET. */
  orderedLines: Pick<OrderedLines, "view" | "advance">;
};

const SubscriptionSchema = SubscriptionViewSchema.openapi("Subscription");
const NewSecretSchema = z.string().nullable().describe("the signing secret, shown this once; null for plain");
const CreatedSubscriptionSchema = SubscriptionViewSchema.extend({ secret: NewSecretSchema })
  .openapi("CreatedSubscription");
const RotatedSubscriptionSchema = SubscriptionViewSchema.extend({
  secret: NewSecretSchema,
  previous_secrets_expire_at: z.string().describe("until then, deliveries are signed with the old secrets too"),
}).openapi("RotatedSubscription");
const SubscriptionDetailSchema = SubscriptionViewSchema.extend({
  ordered_line: OrderedLineViewSchema.nullable(),
}).openapi("SubscriptionDetail");
const SubscriptionPageSchema = z.object({
  data: z.array(SubscriptionSchema),
  next_cursor: z.string().nullable(),
}).openapi("SubscriptionPage");
const ReplayStartedSchema = z.object({
  replay_id: z.string(),
  since: z.string(),
  until: z.string(),
  events: z.number().int(),
  deliveries: z.number().int(),
  truncated: z.boolean().describe("true when the window held more events than one replay takes"),
}).openapi("ReplayStarted");
const AttemptListSchema = z.object({ data: z.array(AttemptSummarySchema.openapi("AttemptSummary")) })
  .openapi("AttemptList");

/** The request bodies, each a component: the routes read them with readJsonBody (limits, problem details). */
const REQUEST_BODIES: Record<string, z.ZodType> = {
  CreateSubscriptionRequest: CreateSubscriptionBodySchema,
  UpdateSubscriptionRequest: UpdateSubscriptionBodySchema,
  RotateSecretRequest: RotateSecretBodySchema,
  ReplayRequest: ReplayBodySchema,
};
const jsonBody = (component: string, required = true) => ({
  body: { required, content: { "application/json": { schema: bodyRef(component, REQUEST_BODIES[component]!) } } },
});

const none = query(NoQuerySchema);
const tags = ["subscriptions"];
const byId = { params: IdParamsSchema };
const NOT_FOUND = problems({ 404: "No such subscription" });
const REFUSED = problems({ 404: "No such subscription", 409: "Not possible in its state (see state)" });
const INVALID = problems({ 400: "Invalid field (see field or errors)", 404: "No such subscription" });

const ROUTES = {
  create: createRoute({
    method: "post",
    path: "/",
    operationId: "createSubscription",
    summary: "Subscribe a URL to a topic (REST Hooks)",
    tags,
    middleware: [none] as const,
    request: jsonBody("CreateSubscriptionRequest"),
    responses: {
      201: {
        ...json("Created; its secret is shown this once", CreatedSubscriptionSchema),
        headers: { Location: { description: "the subscription's URL", schema: { type: "string" as const } } },
      },
      ...problems({ 400: "Invalid field (see field or errors)", 422: "Callback in a forbidden network" }),
      ...AUTH_PROBLEMS,
    },
  }),
  list: createRoute({
    method: "get",
    path: "/",
    operationId: "listSubscriptions",
    summary: "List subscriptions, newest first",
    tags,
    middleware: [query(ListSubscriptionsQuerySchema)] as const,
    request: { query: ListSubscriptionsQuerySchema },
    responses: {
      200: json("A page", SubscriptionPageSchema),
      ...problems({ 400: "Bad parameters" }),
      ...AUTH_PROBLEMS,
    },
  }),
  get: createRoute({
    method: "get",
    path: "/{id}",
    operationId: "getSubscription",
    summary: "A subscription (never its secrets); an ordered one with where its line stands",
    tags,
    middleware: [none] as const,
    request: byId,
    responses: { 200: json("The subscription", SubscriptionDetailSchema), ...NOT_FOUND, ...AUTH_PROBLEMS },
  }),
  update: createRoute({
    method: "patch",
    path: "/{id}",
    operationId: "updateSubscription",
    summary: "Change a subscription's settings; null clears one",
    tags,
    middleware: [none] as const,
    request: { ...byId, ...jsonBody("UpdateSubscriptionRequest") },
    responses: { 200: json("Updated", SubscriptionSchema), ...INVALID, ...AUTH_PROBLEMS },
  }),
  remove: createRoute({
    method: "delete",
    path: "/{id}",
    operationId: "deleteSubscription",
    summary: "Unsubscribe",
    tags,
    middleware: [none] as const,
    request: byId,
    responses: { 204: { description: "Unsubscribed" }, ...NOT_FOUND, ...AUTH_PROBLEMS },
  }),
  activate: createRoute({
    method: "post",
    path: "/{id}/activate",
    operationId: "activateSubscription",
    summary: "Resume a paused or disabled subscription",
    tags,
    middleware: [none] as const,
    request: byId,
    responses: { 200: json("Active", SubscriptionSchema), ...REFUSED, ...AUTH_PROBLEMS },
  }),
  deactivate: createRoute({
    method: "post",
    path: "/{id}/deactivate",
    operationId: "deactivateSubscription",
    summary: "Pause a subscription: its events wait until it is activated",
    tags,
    middleware: [none] as const,
    request: byId,
    responses: { 200: json("Paused", SubscriptionSchema), ...REFUSED, ...AUTH_PROBLEMS },
  }),
  rotateSecret: createRoute({
    method: "post",
    path: "/{id}/rotate-secret",
    operationId: "rotateSubscriptionSecret",
    summary: "Sign with a new secret; the old ones stay valid for grace_period",
    tags,
    middleware: [none] as const,
    request: { ...byId, ...jsonBody("RotateSecretRequest", false) },
    responses: {
      200: json("Rotated; the new secret is shown this once", RotatedSubscriptionSchema),
      ...INVALID,
      ...AUTH_PROBLEMS,
    },
  }),
  replay: createRoute({
    method: "post",
    path: "/{id}/replay",
    operationId: "replaySubscription",
    summary: "Deliver the subscription's events of a time window again",
    tags,
    middleware: [none] as const,
    request: { ...byId, ...jsonBody("ReplayRequest") },
    responses: {
      202: json("Replaying", ReplayStartedSchema),
      ...problems({
        400: "Invalid field",
        404: "No such subscription",
        409: "Not active (see state)",
        410: "Aged out",
      }),
      ...AUTH_PROBLEMS,
    },
  }),
  attempts: createRoute({
    method: "get",
    path: "/{id}/attempts",
    operationId: "listSubscriptionAttempts",
    summary: "The subscription's recent resolved attempts, newest first",
    tags,
    middleware: [query(AttemptsQuerySchema)] as const,
    request: { ...byId, query: AttemptsQuerySchema },
    responses: {
      200: json("Recent attempts", AttemptListSchema),
      ...problems({ 400: "Bad parameters" }),
      ...NOT_FOUND,
      ...AUTH_PROBLEMS,
    },
  }),
};

// Long: one line per route, ten routes; the definitions above carry their documentation.
export function subscriptionRoutes(deps: SubscriptionRouteDeps): OpenAPIHono<BlankEnv, BlankSchema> {
  const routes = new OpenAPIHono<BlankEnv, BlankSchema>();
  defineRoute(routes, ROUTES.create, (c) => create(c, deps));
  defineRoute(routes, ROUTES.list, (c) => list(c, c.req.valid("query"), deps));
  defineRoute(routes, ROUTES.get, async (c) => {
    const id = c.req.param("id");
    const view = subscriptionView(id, await deps.subscriptions.get(id));
    const line = view.ordered ? await deps.orderedLines.view(id) : null;
    return c.json({ ...view, ordered_line: line ? orderedLineView(line) : null });
  });
  defineRoute(routes, ROUTES.update, (c) => update(c, c.req.param("id"), deps));
  defineRoute(routes, ROUTES.remove, async (c) => {
    await deps.subscriptions.unsubscribe(c.req.param("id"));
    return c.body(null, 204);
  });
  defineRoute(routes, ROUTES.activate, async (c) => {
    const id = c.req.param("id");
    return c.json(subscriptionView(id, await deps.subscriptions.activate(id)));
  });
  defineRoute(routes, ROUTES.deactivate, async (c) => {
    const id = c.req.param("id");
    return c.json(subscriptionView(id, await deps.subscriptions.deactivate(id)));
  });
  defineRoute(routes, ROUTES.rotateSecret, (c) => rotateSecret(c, c.req.param("id"), deps));
  defineRoute(routes, ROUTES.replay, (c) => replay(c, c.req.param("id"), deps));
  defineRoute(routes, ROUTES.attempts, async (c) => {
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
  const config = subscriptionConfigOf({ topic, recursive, url, secrets, source: "api" }, {
    ...body,
    ...checkedReportUrls(body, deps.policy),
  });
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
  const reportUrls = checkedReportUrls(body, deps.policy);
  const updated = await deps.subscriptions.update(id, (config) => {
    if (body.ordered !== undefined && body.ordered !== (config.ordered === true)) {
      throw badRequest(
        "ordered is fixed when a subscription is created: create a new subscription to change it",
        { field: "ordered" },
      );
    }
    return { config: withSettings(config, { ...body, url, ...reportUrls }), changed: Object.keys(body) };
  });
  return c.json(subscriptionView(id, updated));
}

async function rotateSecret(c: Context, id: string, deps: SubscriptionRouteDeps): Promise<Response> {
  const body = await readJsonBody(c, RotateSecretBodySchema, { whenEmpty: {} });
  const graceUntil = Date.now() + body.grace_period;
  const { subscription, secret } = await rotateSubscriptionSecret(deps.subscriptions, id, {
    graceUntil,
    now: Date.now,
    choose: (dialect) => secretFor(dialect, body.secret),
    refusePlain: () =>
      badRequest("a plain subscription is not signed, so it has no secret to rotate", { field: "dialect" }),
  });
  const previousExpire = new Date(graceUntil).toISOString();
  return c.json({ ...subscriptionView(id, subscription), secret, previous_secrets_expire_at: previousExpire });
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

/** callback_url and errback_url pass the same check as url: a network the policy refuses is refused now. */
function checkedReportUrls(
  body: { callback_url?: string | null | undefined; errback_url?: string | null | undefined },
  policy: NetworkPolicy,
): { callback_url?: string | null; errback_url?: string | null } {
  const checked = (value: string | null | undefined, field: string) =>
    value === undefined || value === null ? value : validateTarget(value, field, policy).toString();
  return {
    ...(body.callback_url !== undefined ? { callback_url: checked(body.callback_url, "callback_url") } : {}),
    ...(body.errback_url !== undefined ? { errback_url: checked(body.errback_url, "errback_url") } : {}),
  };
}
