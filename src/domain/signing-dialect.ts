import { z } from "zod";

/**
 * How hookd signs the webhooks it sends: Standard Webhooks (webhook-signature; the default), WebSub's
 * X-Hub-Signature, or not at all. Subscriptions, deliveries and the outbound request share this one list.
 */

export const DIALECTS = ["standard-webhooks", "websub", "plain"] as const;
export type Dialect = (typeof DIALECTS)[number];
export const DEFAULT_DIALECT: Dialect = "standard-webhooks";

/** The dialect as a request or the config file names it, with the choices spelled out when it is none of them. */
export const DialectSchema = z.enum(DIALECTS, {
  error: `dialect must be ${DIALECTS.slice(0, -1).join(", ")} or ${DIALECTS.at(-1)}`,
});
