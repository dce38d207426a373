import { z } from "zod";
import { EVENT_TYPE_PATTERN } from "./event-type.ts";
import { HeaderMapSchema, lowercaseHeaderNames } from "./header-names.ts";
import { parseRetrySchedule } from "./retry-policy.ts";
import { DEFAULT_DIALECT, type Dialect, DialectSchema } from "./signing-dialect.ts";
import type { SubscriptionConfig } from "./subscription-events.ts";

/**
 * A subscription's settings as the REST API and the config file spell them (snake_case), checked by
 * one schema, with the defaults a new subscription gets and the mapping onto the stored
 * SubscriptionConfig. Topic, name and secret are not settings: each source checks its own.
 */

const RetryScheduleSchema = z
  .string()
  .transform((text, ctx) => {
    try {
      return parseRetrySchedule(text);
    } catch (error) {
      // Said after the field's name (retry_schedule: …), by the API's 400 and the config file's message alike.
      ctx.addIssue({ code: "custom", message: (error as Error).message });
      return z.NEVER;
    }
  })
  .describe('comma-separated waits between attempts, e.g. "5s,30s,2m"');

const settings = {
  url: z.string({ error: "url is required: the callback URL to deliver to" }),
  event_types: z.array(z.string().regex(EVENT_TYPE_PATTERN, "event types look like contact.create")).min(1),
  owner: z.string(),
  description: z.string(),
  headers: z.record(z.string(), z.string()),
  dialect: DialectSchema,
  retry_schedule: RetryScheduleSchema,
  rate_limit: z
    .number({ error: "rate_limit is deliveries per second, a number" })
    .positive("rate_limit must be above 0")
    .max(10_000, "rate_limit is at most 10000"),
  metadata: z.record(z.string(), z.string()),
  ordered: z
    .boolean({ error: "ordered is true or false: true delivers the subscription's events one at a time, in order" })
    .describe("deliver one event at a time, in the topic log's order; set when the subscription is created"),
  callback_url: z.string().describe("where each delivery's report goes once it is delivered or failed"),
  errback_url: z.string().describe("where failed deliveries' reports go, and this subscription's when it is disabled"),
};

/** The rules every subscription's settings follow, whether the API or the config file sets them. */
export const SubscriptionSettingsSchema = z.object(settings);

/**
 * The API's version: its callers are anyone holding a token, so it bounds what they may store and
 * refuses headers no request could carry, and null clears a setting. The config file is the
 * operator's own and does not get these bounds. The retry schedule's own bound (retry-policy.ts) holds
 * for both: past it a delivery could not be journaled.
 */
export const ApiSubscriptionSettingsSchema = SubscriptionSettingsSchema.extend({
  event_types: settings.event_types.max(100).nullable(),
  owner: settings.owner.min(1).max(200).nullable(),
  description: settings.description.max(1000).nullable(),
  headers: HeaderMapSchema,
  retry_schedule: settings.retry_schedule.nullable(),
  rate_limit: settings.rate_limit.nullable(),
  metadata: z.record(z.string().max(100), z.string().max(1000)),
  callback_url: settings.callback_url.nullable(),
  errback_url: settings.errback_url.nullable(),
});

/** What either schema's fields parse to; the API's also admit null. */
type SettingsShape = {
  url: z.ZodType<string>;
  event_types: z.ZodType<string[] | null>;
  owner: z.ZodType<string | null>;
  description: z.ZodType<string | null>;
  headers: z.ZodType<Record<string, string>>;
  dialect: z.ZodType<Dialect>;
  retry_schedule: z.ZodType<number[] | null>;
  rate_limit: z.ZodType<number | null>;
  metadata: z.ZodType<Record<string, string>>;
  ordered: z.ZodType<boolean>;
  callback_url: z.ZodType<string | null>;
  errback_url: z.ZodType<string | null>;
};

/** The fields of a new subscription's settings: only url is required; the rest default the same for every source. */
export function newSubscriptionFields(shape: SettingsShape) {
  return {
    url: shape.url,
    event_types: shape.event_types.optional(),
    owner: shape.owner.optional(),
    description: shape.description.optional(),
    headers: shape.headers.default(() => ({})),
    dialect: shape.dialect.default(DEFAULT_DIALECT),
    retry_schedule: shape.retry_schedule.optional(),
    rate_limit: shape.rate_limit.optional(),
    metadata: shape.metadata.default(() => ({})),
    ordered: shape.ordered.default(false),
    callback_url: shape.callback_url.optional(),
    errback_url: shape.errback_url.optional(),
  };
}

/** Settings as the schemas above parse them: a setting left out is not set, a null one is cleared. */
export type SettingsChanges = {
  event_types?: string[] | null;
  owner?: string | null;
  description?: string | null;
  headers?: Record<string, string>;
  dialect?: Dialect;
  retry_schedule?: number[] | null;
  rate_limit?: number | null;
  metadata?: Record<string, string>;
  ordered?: boolean;
  callback_url?: string | null;
  errback_url?: string | null;
};
/** A new subscription's settings, with the defaults filled in. */
export type NewSettings = SettingsChanges & Required<Pick<SettingsChanges, "headers" | "dialect" | "metadata">>;

type Placement = Pick<SubscriptionConfig, "topic" | "recursive" | "url" | "secrets" | "source">;

/**
 * The stored config of a new subscription. Its keys are in the stored order: the config file's sync
 * compares configs as JSON text, and a new order would rewrite every file-made subscription once.
 */
export function subscriptionConfigOf(placement: Placement, settings: NewSettings): SubscriptionConfig {
  return {
    topic: placement.topic,
    recursive: placement.recursive,
    url: placement.url,
    secrets: placement.secrets,
    eventTypes: settings.event_types ?? null,
    owner: settings.owner ?? null,
    description: settings.description ?? null,
    headers: lowercaseHeaderNames(settings.headers),
    dialect: settings.dialect,
    retrySchedule: settings.retry_schedule ?? null,
    rateLimit: settings.rate_limit ?? null,
    metadata: settings.metadata,
    source: placement.source,
    ...(settings.ordered ? { ordered: true as const } : {}),
    // Only when set, so configs stored before reports existed compare equal to the file's.
    ...(settings.callback_url ? { callbackUrl: settings.callback_url } : {}),
    ...(settings.errback_url ? { errbackUrl: settings.errback_url } : {}),
  };
}

type Changes = SettingsChanges & { url?: string };

/** `config` with the settings that `changes` names; a setting it leaves out keeps its value, a null one is cleared. */
export function withSettings(config: SubscriptionConfig, changes: Changes): SubscriptionConfig {
  return withReportUrls({
    ...config,
    ...(changes.url !== undefined ? { url: changes.url } : {}),
    ...(changes.event_types !== undefined ? { eventTypes: changes.event_types } : {}),
    ...(changes.owner !== undefined ? { owner: changes.owner } : {}),
    ...(changes.description !== undefined ? { description: changes.description } : {}),
    ...(changes.headers !== undefined ? { headers: lowercaseHeaderNames(changes.headers) } : {}),
    ...(changes.dialect !== undefined ? { dialect: changes.dialect } : {}),
    ...(changes.retry_schedule !== undefined ? { retrySchedule: changes.retry_schedule } : {}),
    ...(changes.rate_limit !== undefined ? { rateLimit: changes.rate_limit } : {}),
    ...(changes.metadata !== undefined ? { metadata: changes.metadata } : {}),
  }, changes);
}

/** The report URLs a change sets (a string) or clears (null); a cleared one leaves the config, as if never set. */
function withReportUrls(config: SubscriptionConfig, changes: Changes): SubscriptionConfig {
  const { callbackUrl, errbackUrl, ...rest } = config;
  const callback = changes.callback_url === undefined ? callbackUrl : changes.callback_url;
  const errback = changes.errback_url === undefined ? errbackUrl : changes.errback_url;
  return { ...rest, ...(callback ? { callbackUrl: callback } : {}), ...(errback ? { errbackUrl: errback } : {}) };
}
