import { createRoute, z } from "@hono/zod-openapi";
import type { ResealReport } from "../runtime/secret-reseal.ts";
import { type ApiApp, AUTH_PROBLEMS, defineRoute, json, problems } from "./api-docs.ts";
import { NoQuerySchema, query } from "./query.ts";

/**
 * POST /api/v1/secrets/reseal: the step after rotating HOOKD_SECRETS_KEY, which seals every stored
 * secret hookd will open again under the new key, so the old one can leave HOOKD_SECRETS_KEY_PREVIOUS
 * (see docs/security.md). Like any route, it takes a token that grants its path: in practice the admin token.
 */

const ResealReportSchema = z.object({
  key_id: z.string().describe("the id of the key everything is now sealed under (HOOKD_SECRETS_KEY's)"),
  subscriptions: z.object({
    checked: z.number().int(),
    resealed: z.number().int().describe("subscriptions whose secrets were plain or under another key"),
    older_entries_dropped: z.number().int().describe(
      "journal entries purged because a newer one holds the subscription: they held its secrets under old keys",
    ),
    unopenable: z.array(z.string()).describe(
      "subscriptions sealed under a key this instance lacks: add it to HOOKD_SECRETS_KEY_PREVIOUS and run again",
    ),
  }),
  signing_secret: z.enum(["resealed", "current", "none"]).describe(
    "the signing secret hookd made and shares through NATS; none when no instance ever made one",
  ),
  previous_keys_needed_until: z.string().describe(
    "deliveries made before now keep their secrets sealed under the key of their day until their journal " +
      "expires (HOOKD_JOURNAL_MAX_AGE); retrying one needs that key until then",
  ),
}).openapi("ResealReport");

const resealRoute = createRoute({
  method: "post",
  path: "/api/v1/secrets/reseal",
  operationId: "resealSecrets",
  summary: "Seal every stored secret under the current HOOKD_SECRETS_KEY (after a key rotation)",
  tags: ["secrets"],
  middleware: [query(NoQuerySchema)] as const,
  responses: {
    200: json("Everything hookd will open again is sealed under the current key", ResealReportSchema),
    ...problems({ 503: "The shared signing secret is sealed under a key this instance lacks, or NATS is away" }),
    ...AUTH_PROBLEMS,
  },
});

export function mountSecretRoutes(app: ApiApp, reseal: () => Promise<ResealReport>): void {
  defineRoute(app, resealRoute, async (c) => c.json(await reseal(), 200));
}
