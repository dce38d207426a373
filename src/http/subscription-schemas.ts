import { z } from "zod";
import { PageLimitSchema } from "./query.ts";
import { parseDuration } from "../domain/duration.ts";
import { hasFourDigitYear } from "../domain/four-digit-year.ts";
import { SUBSCRIPTION_ID_PATTERN } from "../domain/ids.ts";
import { ApiSubscriptionSettingsSchema, newSubscriptionFields } from "../domain/subscription-settings.ts";

/**
 * What the subscription routes (subscription-routes.ts) accept: request bodies and queries. The
 * settings themselves are the domain's (subscription-settings.ts), shared with the config file.
 */

export const CreateSubscriptionBodySchema = z
  .object({
    topic: z.string({ error: 'topic is required: a topic such as "orders", or "orders/" for everything below it' }),
    secret: z.string().optional(),
    ...newSubscriptionFields(ApiSubscriptionSettingsSchema.shape),
  })
  .strict();

export const UpdateSubscriptionBodySchema = ApiSubscriptionSettingsSchema.partial().strict();

const MAX_GRACE_PERIOD_MS = 30 * 86_400_000;

export const RotateSecretBodySchema = z
  .object({
    secret: z.string().optional(),
    grace_period: z
      .string()
      .default("24h")
      .transform((text, ctx) => {
        try {
          const ms = parseDuration(text);
          if (ms > MAX_GRACE_PERIOD_MS) throw new Error("is at most 30d");
          return ms;
        } catch (error) {
          ctx.addIssue({ code: "custom", message: `grace_period ${(error as Error).message}` });
          return z.NEVER;
        }
      }),
  })
  .strict();

export const ListSubscriptionsQuerySchema = z.object({
  topic: z.string().optional(),
  owner: z.string().optional(),
  state: z.enum(["pending-verification", "active", "paused", "disabled", "expired"]).optional(),
  limit: PageLimitSchema,
  cursor: z.string().regex(SUBSCRIPTION_ID_PATTERN, "cursor must be a next_cursor value from a previous page")
    .optional(),
});

export const AttemptsQuerySchema = z.object({ limit: PageLimitSchema });

const Timestamp = (field: string) =>
  z.string().transform((text, ctx) => {
    const date = new Date(Date.parse(text));
    if (Number.isNaN(date.getTime()) || !hasFourDigitYear(date)) {
      ctx.addIssue({ code: "custom", message: `${field} must be an ISO 8601 time such as 2026-11-23T10:00:00Z` });
      return z.NEVER;
    }
    return date;
  });

export const ReplayBodySchema = z.object({ since: Timestamp("since"), until: Timestamp("until").optional() }).strict();
