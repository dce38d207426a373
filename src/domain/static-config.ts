import { z } from "zod";
import { parse as parseYaml } from "yaml";
import { EVENT_TYPE_PATTERN } from "./event-type.ts";
import { parseRetrySchedule } from "./retry-policy.ts";
import { isValidSecret } from "./sign-standard-webhooks.ts";
import { parseTopic, TopicNameError } from "./topic-name.ts";

/**
 * The config file (HOOKD_CONFIG, JSON or YAML): subscriptions an operator declares instead of
 * creating them over the API. Each has a name, its identity across restarts and instances.
 */

export const StaticSubscriptionSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, "name: letters, digits, . _ - (at most 100)"),
    topic: z.string().superRefine((topic, ctx) => {
      try {
        parseTopic(topic, { allowRecursive: true });
      } catch (error) {
        if (error instanceof TopicNameError) ctx.addIssue({ code: "custom", message: error.message });
        else throw error;
      }
    }),
    url: z.url({ protocol: /^https?$/, error: "url must be an absolute http(s) URL" }),
    secret: z.string().optional(),
    dialect: z.enum(["standard-webhooks", "websub", "plain"]).default("standard-webhooks"),
    event_types: z.array(z.string().regex(EVENT_TYPE_PATTERN)).min(1).optional(),
    headers: z.record(z.string(), z.string()).default({}),
    retry_schedule: z
      .string()
      .transform((text, ctx) => {
        try {
          return parseRetrySchedule(text);
        } catch (error) {
          ctx.addIssue({ code: "custom", message: (error as Error).message });
          return z.NEVER;
        }
      })
      .optional(),
    rate_limit: z.number().positive().max(10_000).optional(),
    owner: z.string().optional(),
    description: z.string().optional(),
    metadata: z.record(z.string(), z.string()).default({}),
  })
  .strict()
  .superRefine((entry, ctx) => {
    if (entry.dialect === "plain" && entry.secret !== undefined) ctx.addIssue({ code: "custom", path: ["secret"], message: "a plain subscription is not signed" });
    if (entry.dialect === "standard-webhooks" && (entry.secret === undefined || !isValidSecret(entry.secret))) {
      ctx.addIssue({ code: "custom", path: ["secret"], message: "needs a Standard Webhooks secret (whsec_…): the receiver must know it" });
    }
    if (entry.dialect === "websub" && !entry.secret) ctx.addIssue({ code: "custom", path: ["secret"], message: "needs the subscriber's secret" });
  });
export type StaticSubscription = z.infer<typeof StaticSubscriptionSchema>;

export const StaticConfigSchema = z
  .object({ subscriptions: z.array(StaticSubscriptionSchema).default([]) })
  .strict()
  .superRefine((config, ctx) => {
    const seen = new Set<string>();
    config.subscriptions.forEach((entry, index) => {
      if (seen.has(entry.name)) ctx.addIssue({ code: "custom", path: ["subscriptions", index, "name"], message: `"${entry.name}" is used twice` });
      seen.add(entry.name);
    });
  });
export type StaticConfig = z.infer<typeof StaticConfigSchema>;

export class StaticConfigError extends Error {}

/** Parses the file's text (YAML is a superset of JSON, so one parser reads both) and says exactly what is wrong. */
export function parseStaticConfig(text: string, file: string): StaticConfig {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    throw new StaticConfigError(`${file} is not valid YAML or JSON: ${(error as Error).message}`);
  }
  const result = StaticConfigSchema.safeParse(raw ?? {});
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => `  ${issue.path.join(".") || "(top level)"}: ${issue.message}`);
  throw new StaticConfigError(`${file} is invalid:\n${lines.join("\n")}`);
}
