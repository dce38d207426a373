import type { Context } from "hono";
import type { NetworkPolicy } from "../delivery/network-policy.ts";
import type { DeliveryCommands } from "../runtime/delivery-commands.ts";
import { badRequest } from "./problem.ts";
import { validateTarget } from "./target-url.ts";
import { NatsUnavailableError } from "../nats/journal.ts";
import type { HookdMetrics } from "../metrics.ts";
import { preferredWait, waitParameter, type WaitPreference, waitPreference } from "../domain/prefer-wait.ts";
import type { FirstAttemptWatch } from "../nats/first-attempt-watch.ts";
import { inlineAnswer } from "./inline-answer.ts";

/** The one path every accepted delivery takes: validate, store durably, answer 202 with where to look. */

export type IngestDeps = {
  deliveries: DeliveryCommands;
  policy: NetworkPolicy;
  isNatsConnected: () => boolean;
  /** Secret used when the request brings none; empty means unsigned. */
  defaultSecrets: string[];
  metrics: HookdMetrics;
  /** Inline mode (`Prefer: wait`): follows a delivery's journal until its first attempt ends; without it no request waits. */
  firstAttempts?: FirstAttemptWatch;
  /** The longest wait inline mode grants, in seconds (inlineWaitCap in config.ts). */
  maxWaitSeconds?: number;
};

/** A report URL and the field it came in, so a refusal names the field. */
export type ReportTarget = { url: string; field: string };

export type Ingest = {
  target: string | null;
  targetField: string;
  method: string;
  headers: Record<string, string>;
  body: string;
  secrets: string[];
  source: "dispatch" | "api";
  /** `_wait` as a form's query string has it; every form also reads the Prefer header. */
  waitParameter?: string | undefined;
  /** Told when the delivery is delivered or failed (callback), or only when it failed (errback). */
  callback?: ReportTarget | undefined;
  errback?: ReportTarget | undefined;
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

/** The wait a request asks for, capped; a `_wait` that is not a number of seconds is refused. */
function waitOf(c: Context, ingest: Ingest, deps: IngestDeps): WaitPreference | null {
  if (!deps.firstAttempts) return null;
  let parameter: number | null = null;
  if (ingest.waitParameter !== undefined) {
    parameter = waitParameter(ingest.waitParameter);
    if (parameter === null) {
      throw badRequest("_wait must be a whole number of seconds, such as _wait=10.", { field: "_wait" });
    }
  }
  return waitPreference(parameter, preferredWait(c.req.header("prefer")), deps.maxWaitSeconds ?? 0);
}

/** Report URLs go through the same check as the target: an address the policy refuses is refused now. */
function reportUrl(target: ReportTarget | undefined, policy: NetworkPolicy): string | undefined {
  return target === undefined ? undefined : validateTarget(target.url, target.field, policy).toString();
}

export async function acceptDelivery(c: Context, deps: IngestDeps, ingest: Ingest): Promise<Response> {
  const url = validateTarget(ingest.target, ingest.targetField, deps.policy);
  const callbackUrl = reportUrl(ingest.callback, deps.policy);
  const errbackUrl = reportUrl(ingest.errback, deps.policy);
  const wait = waitOf(c, ingest, deps);
  const idempotencyKey = idempotencyKeyOf(c);
  // Fail fast while NATS is away, rather than holding the client until the publish times out.
  if (!deps.isNatsConnected()) throw new NatsUnavailableError(new Error("not connected"));
  const { id, duplicate } = await deps.deliveries.create({
    request: { url: url.toString(), method: ingest.method, headers: ingest.headers, body: ingest.body },
    secrets: ingest.secrets.length > 0 ? ingest.secrets : deps.defaultSecrets,
    source: ingest.source,
    idempotencyKey,
    givenSecrets: ingest.secrets,
    reports: { callbackUrl, errbackUrl },
  });
  const headers: Record<string, string> = { location: `/api/v1/deliveries/${id}` };
  if (duplicate) headers["idempotent-replayed"] = "true";
  else deps.metrics.accepted.inc({ source: ingest.source });
  if (!wait || !deps.firstAttempts) return c.json({ id }, 202, headers);
  return waitInline(c, deps.firstAttempts, id, wait, headers);
}

/**
 * The delivery is stored by now: if the watch fails (NATS away, a journal entry it cannot read, or
 * HOOKD_INLINE_WAITS requests waiting already on this instance), the answer is the plain 202 (no
 * Preference-Applied), never an error that would have the client send the request again.
 */
async function waitInline(
  c: Context,
  watch: FirstAttemptWatch,
  id: string,
  wait: WaitPreference,
  accepted: Record<string, string>,
): Promise<Response> {
  try {
    return inlineAnswer(c, id, wait, await watch.wait(id, wait.applied * 1000, c.req.raw.signal), accepted);
  } catch {
    return c.json({ id }, 202, accepted);
  }
}
