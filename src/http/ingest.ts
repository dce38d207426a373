import type { Context } from "hono";
import type { NetworkPolicy } from "../delivery/network-policy.ts";
import type { DeliveryCommands } from "../runtime/delivery-commands.ts";
import { badRequest } from "./problem.ts";
import { validateTarget } from "./target-url.ts";
import { NatsUnavailableError } from "../nats/journal.ts";
import type { HookdMetrics } from "../metrics.ts";

/** The one path every accepted delivery takes: validate, store durably, answer 202 with where to look. */

export type IngestDeps = {
  deliveries: DeliveryCommands;
  policy: NetworkPolicy;
  isNatsConnected: () => boolean;
  /** Secret used when the request brings none; empty means unsigned. */
  defaultSecrets: string[];
  metrics: HookdMetrics;
};

export type Ingest = {
  target: string | null;
  targetField: string;
  method: string;
  headers: Record<string, string>;
  body: string;
  secrets: string[];
  source: "dispatch" | "api";
};

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

export function idempotencyKeyOf(c: Context): string | undefined {
  const key = c.req.header("idempotency-key");
  if (key === undefined) return undefined;
  if (!IDEMPOTENCY_KEY.test(key)) {
    throw badRequest("Idempotency-Key must be 1 to 255 visible ASCII characters.", { field: "Idempotency-Key" });
  }
  return key;
}

export async function acceptDelivery(c: Context, deps: IngestDeps, ingest: Ingest): Promise<Response> {
  const url = validateTarget(ingest.target, ingest.targetField, deps.policy);
  const idempotencyKey = idempotencyKeyOf(c);
  // Fail fast while NATS is away, rather than holding the client until the publish times out.
  if (!deps.isNatsConnected()) throw new NatsUnavailableError(new Error("not connected"));
  const { id, duplicate } = await deps.deliveries.create({
    request: { url: url.toString(), method: ingest.method, headers: ingest.headers, body: ingest.body },
    secrets: ingest.secrets.length > 0 ? ingest.secrets : deps.defaultSecrets,
    source: ingest.source,
    idempotencyKey,
    givenSecrets: ingest.secrets,
  });
  const headers: Record<string, string> = { location: `/api/v1/deliveries/${id}` };
  if (duplicate) headers["idempotent-replayed"] = "true";
  else deps.metrics.accepted.inc({ source: ingest.source });
  return c.json({ id }, 202, headers);
}
