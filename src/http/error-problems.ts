import type { Context } from "hono";
import type { Logger } from "../log.ts";
import type { HookdMetrics } from "../metrics.ts";
import { IdempotencyKeyReusedError } from "../domain/idempotency.ts";
import { SecretBoxError } from "../domain/secret-box.ts";
import { NatsUnavailableError, PayloadTooLargeError, UnreadableEntryError } from "../nats/journal.ts";
import { ActorNotFoundError, EventExpiredError, TransitionRefusedError } from "../runtime/errors.ts";
import { ProblemError, problemResponse } from "./problem.ts";

/** The one place that turns what the layers below throw into problem+json: every route's errors end here. */

export function problemForError(c: Context, error: Error, deps: { log: Logger; metrics: HookdMetrics }): Response {
  if (error instanceof ProblemError) return problemResponse(c, error.problem);
  if (error instanceof ActorNotFoundError) {
    return problemResponse(c, {
      status: 404,
      kind: `${error.kind}-not-found`,
      title: `No such ${error.kind}`,
      detail: error.message,
    });
  }
  if (error instanceof EventExpiredError) {
    return problemResponse(c, {
      status: 410,
      kind: "event-expired",
      title: "The event has aged out of the topic log",
      detail: `${error.message} Deliveries keep their journals (headers sent, attempts) for HOOKD_JOURNAL_MAX_AGE; ` +
        "raise HOOKD_TOPIC_MAX_AGE to keep events longer.",
      extra: { event_id: error.eventId, seq: error.seq },
    });
  }
  if (error instanceof IdempotencyKeyReusedError) {
    return problemResponse(c, {
      status: 422,
      kind: "idempotency-key-reused",
      title: "The Idempotency-Key was used for a different request",
      detail: `${error.message} Send that request unchanged to get its answer again, or use a new key for a new ` +
        "request (keys are remembered for HOOKD_IDEMPOTENCY_WINDOW).",
      extra: { field: "Idempotency-Key", conflicts: error.conflicts },
    });
  }
  if (error instanceof TransitionRefusedError) {
    return problemResponse(c, {
      status: 409,
      kind: "transition-refused",
      title: `Not possible in the ${error.kind}'s current state`,
      detail: error.message,
      extra: { state: error.state },
    });
  }
  if (error instanceof PayloadTooLargeError) {
    return problemResponse(c, {
      status: 413,
      kind: "body-too-large",
      title: "The body is too large",
      detail: "Stored with hookd's metadata, the request is larger than the NATS server accepts (max_payload). " +
        "Send a smaller body.",
    });
  }
  if (error instanceof UnreadableEntryError) return unreadableJournal(c, error, deps);
  if (error instanceof NatsUnavailableError) return unavailable(c, error, deps);
  if (error instanceof SecretBoxError) return secretKeyMissing(c, error, deps);
  deps.log.error({ err: error, path: c.req.path }, "unhandled error");
  return problemResponse(c, {
    status: 500,
    kind: "internal",
    title: "Internal error",
    detail: "hookd failed to handle this request; the error is in its log.",
  });
}

function unreadableJournal(c: Context, error: UnreadableEntryError, deps: { log: Logger }): Response {
  deps.log.warn({ err: error, path: c.req.path }, "a journal message this hookd cannot read");
  return problemResponse(c, {
    status: 500,
    kind: "unreadable-journal",
    title: "hookd cannot read what the journal holds here",
    detail: `${error.message}. If a newer hookd shares this NATS, it can answer this request; ` +
      "upgrade this instance to read it too. If none can, the message is damaged: docs/deploy.md " +
      "(Upgrading one instance at a time) says how to remove it.",
    extra: { subject: error.subject, seq: error.seq },
  });
}

function unavailable(c: Context, error: Error, deps: { log: Logger; metrics: HookdMetrics }): Response {
  deps.metrics.refusedUnavailable.inc();
  deps.log.warn({ err: error }, "refusing a request while NATS is unavailable");
  return problemResponse(c, {
    status: 503,
    kind: "storage-unavailable",
    title: "hookd cannot store the request right now",
    detail: "NATS JetStream is unavailable, so nothing was accepted. " +
      "Send the request again later (same Idempotency-Key, if you used one).",
    headers: { "retry-after": "5" },
  });
}

function secretKeyMissing(c: Context, error: SecretBoxError, deps: { log: Logger }): Response {
  deps.log.error({ err: error, path: c.req.path }, "a stored secret does not open on this instance");
  return problemResponse(c, {
    status: 503,
    kind: "secret-key-missing",
    title: "This instance cannot open a secret it needs",
    detail: `${error.message}. Give every instance the same HOOKD_SECRETS_KEY and HOOKD_SECRETS_KEY_PREVIOUS.`,
  });
}
