import type { JsMsg } from "@nats-io/jetstream";
import {
  applyDeliveryEvent,
  initialDelivery,
  persistDelivery,
  restoreDelivery,
  stateOf,
  type DeliverySnapshot,
} from "../../actors/delivery.fold.ts";
import { classifyError, classifyStatus } from "../domain/attempt-outcome.ts";
import { DeliveryCreatedSchema, type AttemptRecord, type DeliveryCreated, type DeliveryTransition } from "../domain/delivery-events.ts";
import { nextRetryAt, parseRetryAfter } from "../domain/retry-policy.ts";
import type { AttemptResult, HttpAttempter } from "../delivery/http-attempt.ts";
import { buildOutboundRequest } from "../delivery/outbound-request.ts";
import type { DeliveryStore, Head } from "../nats/delivery-store.ts";
import { JournalConflictError, NatsUnavailableError } from "../nats/journal.ts";
import type { JetStreamLayout } from "../nats/layout.ts";
import type { Logger } from "../log.ts";
import type { TopicLog } from "../nats/topic-log.ts";
import type { SubscriptionAttempt } from "../nats/attempt-log.ts";
import type { RateLimiter } from "../nats/rate-limiter.ts";
import type { HookdMetrics } from "../metrics.ts";
import { OriginGate } from "./origin-gate.ts";

/**
 * Turns one work-queue message into the next step of its delivery: load → decide with the machine
 * → append at the expected sequence → act. The machine decides; NATS holds every timer: a delivery
 * in backoff is a nak'd message with a delay, not a live actor or a timer in this process.
 */

export type WorkerDeps = {
  store: DeliveryStore;
  /** Says what a work-queue message is: a delivery's work (or its sourced create) or a lease. */
  layout: JetStreamLayout;
  attempter: HttpAttempter;
  clock: () => number;
  random: () => number;
  log: Logger;
  /** How long an attempt may hold its message; an older in-flight record means its worker died. */
  leaseMs: number;
  /** Names this instance in the attempts it makes. */
  workerId: string;
  metrics?: HookdMetrics;
  /** Where fan-out deliveries find their body. */
  topics?: TopicLog;
  /**
   * Attempts in flight at once to one origin (scheme://host:port). A slow receiver can then hold
   * only this many of the instance's slots, never all of them: others' deliveries keep flowing.
   */
  perOriginLimit?: number;
  /** Handles WebSub lease items, which share the work queue with deliveries. */
  onLease?: (message: JsMsg) => Promise<void>;
  /** Shared rate limits (per subscription); without one, limits are not enforced. */
  rateLimiter?: RateLimiter;
  /** Told of every resolved attempt of a fan-out delivery, for the subscription's attempt list. */
  onFanOutAttempt?: (subscriptionId: string, attempt: SubscriptionAttempt) => void;
  /** Told when a fan-out delivery reaches delivered or failed, for its subscription's failure policy. */
  onFanOutFinished?: (outcome: { subscriptionId: string; deliveryId: string; state: "delivered" | "failed"; gone: boolean }) => Promise<void>;
};

const MAX_CONFLICT_ROUNDS = 5;
/** How long an attempt waits for its origin's slot before handing its work back to NATS. */
const ORIGIN_WAIT_MS = 250;
const iso = (ms: number) => new Date(ms).toISOString();

function failureEvent(record: AttemptRecord, now: number, decision: { permanent: boolean; retryAt: number }): DeliveryTransition {
  return { type: "attempt.failed", at: iso(now), data: { ...record, permanent: decision.permanent, retryAt: iso(decision.retryAt) } };
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}

export class DeliveryWorker {
  readonly #gate: OriginGate | null;

  constructor(private readonly deps: WorkerDeps) {
    // Only a fast origin's attempts wait (a slot frees within milliseconds, so waiters keep moving); a slow origin's go back to NATS at once.
    this.#gate =
      deps.perOriginLimit === undefined ? null : new OriginGate({ limit: deps.perOriginLimit, maxWaiting: deps.perOriginLimit * 3, maxWaitMs: ORIGIN_WAIT_MS, now: () => performance.now() });
  }

  async handle(message: JsMsg): Promise<void> {
    const item = this.deps.layout.parseSubject(message.subject);
    if (item?.kind === "lease" && this.deps.onLease) return this.deps.onLease(message);
    const id = item?.kind === "delivery-created" || item?.kind === "delivery-work" ? item.id : null;
    if (!id) {
      this.deps.log.warn({ subject: message.subject }, "dropping a work message hookd does not understand");
      message.term();
      return;
    }
    const sourcedCreate = item?.kind === "delivery-created";
    let created: DeliveryCreated | undefined;
    try {
      created = sourcedCreate ? DeliveryCreatedSchema.parse(JSON.parse(new TextDecoder().decode(message.data))) : (await this.deps.store.readCreated(id))?.event;
    } catch (error) {
      if (error instanceof NatsUnavailableError) throw error;
      // An unreadable journal entry will not become readable: stop redelivering it.
      this.deps.log.error({ err: error, id }, "unreadable delivery; dropping its work item");
      message.term();
      return;
    }
    if (!created) {
      this.deps.log.warn({ id }, "work for a delivery whose journal is gone (expired?); dropping it");
      message.term();
      return;
    }
    // A create seen for the first time has no transitions yet: skip the read and let the expected sequence 0 prove it.
    let head: Head | null = sourcedCreate && message.info.deliveryCount === 1 ? null : await this.deps.store.readHead(id);

    for (let round = 0; round < MAX_CONFLICT_ROUNDS; round++) {
      const snapshot = head ? restoreDelivery(head.after) : initialDelivery({ id, maxAttempts: created.data.schedule.length + 1 });
      const context = snapshot.context;
      const now = this.deps.clock();
      try {
        switch (stateOf(snapshot)) {
          case "delivered":
          case "failed":
          case "cancelled":
            message.ack();
            return;
          case "backoff":
            if (context.retryAt !== null && now < context.retryAt) {
              // NATS redelivered early (or a duplicate work item): hand it back for the time that remains.
              message.nak(context.retryAt - now);
              return;
            }
            await this.attempt(message, created, snapshot, head?.seq ?? 0);
            return;
          case "pending":
            await this.attempt(message, created, snapshot, head?.seq ?? 0);
            return;
          case "in-flight": {
            const age = now - (context.inFlightSince ?? 0);
            if (age < this.deps.leaseMs) {
              message.nak(this.deps.leaseMs - age);
              return;
            }
            // The worker that started this attempt stopped before recording its outcome; the receiver may or may not have it.
            const abandoned = failureEvent({
              attempt: context.attempts,
              request: { method: created.data.request.method, url: created.data.request.url, headers: {} },
              latencyMs: 0,
              error: "attempt interrupted: the worker stopped before the outcome was recorded",
            }, now, { permanent: false, retryAt: now });
            this.deps.metrics?.attempts.inc({ outcome: "interrupted" });
            const next = applyDeliveryEvent(snapshot, abandoned)!;
            const seq = await this.deps.store.appendTransition(id, abandoned, persistDelivery(next), head?.seq ?? 0);
            head = { seq, after: persistDelivery(next) };
            if (stateOf(next) === "failed" && created.data.subscriptionId) {
              await this.deps.onFanOutFinished?.({ subscriptionId: created.data.subscriptionId, deliveryId: id, state: "failed", gone: false });
            }
            continue;
          }
        }
      } catch (error) {
        if (!(error instanceof JournalConflictError)) throw error;
        this.deps.metrics?.conflicts.inc();
        head = await this.deps.store.readHead(id);
      }
    }
    this.deps.log.warn({ id }, "delivery kept changing under this worker; trying again shortly");
    message.nak(1_000);
  }

  private async attempt(message: JsMsg, created: DeliveryCreated, snapshot: DeliverySnapshot, expectedSeq: number): Promise<void> {
    if (!this.#gate) return this.attemptWithinShare(message, created, snapshot, expectedSeq);
    const release = await this.#gate.enter(originOf(created.data.request.url));
    if (!release) {
      // This origin holds its share of the slots and of the queue: come back shortly, without using an attempt.
      message.nak(250 + Math.floor(this.deps.random() * 500));
      return;
    }
    try {
      await this.attemptWithinShare(message, created, snapshot, expectedSeq);
    } finally {
      release();
    }
  }

  private async attemptWithinShare(message: JsMsg, created: DeliveryCreated, snapshot: DeliverySnapshot, expectedSeq: number): Promise<void> {
    const id = created.data.id;
    const limit = created.data.rateLimit;
    if (limit && this.deps.rateLimiter) {
      const wait = await this.deps.rateLimiter.reserve(limit.key, limit.perSecond, this.deps.clock());
      if (wait > 0) {
        // Over the subscription's rate: no attempt is used, NATS hands the message back when a slot may be free.
        message.nak(wait + Math.floor(this.deps.random() * (1000 / limit.perSecond)));
        return;
      }
    }
    const attempt = snapshot.context.attempts + 1;
    // Everything that can fail on NATS happens before the attempt is recorded as started, so a read error costs no attempt.
    const payload = await this.payloadOf(created);
    const outbound = await buildOutboundRequest({
      deliveryId: id,
      request: created.data.request,
      body: payload ?? undefined,
      secrets: created.data.secrets,
      dialect: created.data.dialect,
      now: this.deps.clock(),
    });
    const started: DeliveryTransition = { type: "attempt.started", at: iso(this.deps.clock()), data: { attempt, worker: this.deps.workerId } };
    const inFlight = applyDeliveryEvent(snapshot, started);
    if (!inFlight) throw new Error(`delivery ${id} refused attempt ${attempt} in state ${stateOf(snapshot)}`);
    const startedSeq = await this.deps.store.appendTransition(id, started, persistDelivery(inFlight), expectedSeq);

    // Tell NATS this message is still being worked on, so a slow attempt is never handed to a second worker.
    const heartbeat = setInterval(() => message.working(), Math.max(this.deps.leaseMs / 3, 1_000));
    let result: AttemptResult;
    try {
      result = payload === null ? { latencyMs: 0, errorCode: "payload-expired", error: "the event is no longer in the topic log" } : await this.deps.attempter.send(outbound);
    } finally {
      clearInterval(heartbeat);
    }
    this.deps.metrics?.attemptSeconds.observe(result.latencyMs / 1000);
    const record: AttemptRecord = {
      attempt,
      request: { method: outbound.method, url: outbound.url, headers: outbound.headers },
      latencyMs: result.latencyMs,
      ...(result.response ? { response: result.response } : {}),
      ...(result.error ? { error: result.error } : {}),
    };
    const now = this.deps.clock();
    const verdict = result.response ? classifyStatus(result.response.status) : classifyError(result.errorCode ?? "network");
    this.deps.metrics?.attempts.inc({ outcome: verdict.kind === "success" ? "succeeded" : verdict.kind });
    let outcome: DeliveryTransition;
    if (verdict.kind === "success") {
      outcome = { type: "attempt.succeeded", at: iso(now), data: record };
    } else {
      const retryAfterMs = verdict.kind === "retry" && verdict.honourRetryAfter ? parseRetryAfter(result.response?.headers["retry-after"], now) : undefined;
      const retryAt = nextRetryAt({ schedule: created.data.schedule, attemptsInRound: inFlight.context.roundAttempts, now, random: this.deps.random(), retryAfterMs });
      const error = record.error ?? (verdict.kind === "permanent" ? verdict.reason : `receiver answered ${result.response?.status}`);
      outcome = failureEvent({ ...record, error }, now, { permanent: verdict.kind === "permanent", retryAt });
    }

    // Record the outcome; someone may have appended meanwhile (a cancel), so re-apply on the newest state.
    let base: { seq: number; snapshot: DeliverySnapshot } = { seq: startedSeq, snapshot: inFlight };
    for (let round = 0; round < MAX_CONFLICT_ROUNDS; round++) {
      const after = applyDeliveryEvent(base.snapshot, outcome);
      if (!after) {
        // Someone else moved the delivery on; hand the message back so the newest state decides what it needs.
        this.deps.log.warn({ id, attempt, state: stateOf(base.snapshot) }, "outcome no longer applies; leaving the delivery as it is");
        message.nak(1_000);
        return;
      }
      try {
        await this.deps.store.appendTransition(id, outcome, persistDelivery(after), base.seq);
        if (created.data.subscriptionId && (outcome.type === "attempt.succeeded" || outcome.type === "attempt.failed")) {
          this.deps.onFanOutAttempt?.(created.data.subscriptionId, {
            delivery_id: id,
            attempt,
            at: outcome.at,
            outcome: outcome.type === "attempt.succeeded" ? "succeeded" : "failed",
            latency_ms: outcome.data.latencyMs,
            request: outcome.data.request,
            response: outcome.data.response
              ? { status: outcome.data.response.status, headers: outcome.data.response.headers, body: outcome.data.response.body, body_truncated: outcome.data.response.bodyTruncated }
              : null,
            error: outcome.data.error ?? null,
          });
        }
        const state = stateOf(after);
        if (state === "delivered" || state === "failed") {
          this.deps.metrics?.finished.inc({ state });
          const subscriptionId = created.data.subscriptionId;
          if (subscriptionId && this.deps.onFanOutFinished) {
            const gone = result.response?.status === 410;
            await this.deps.onFanOutFinished({ subscriptionId, deliveryId: id, state, gone });
          }
        }
        this.settle(message, after);
        return;
      } catch (error) {
        if (!(error instanceof JournalConflictError)) throw error;
        this.deps.metrics?.conflicts.inc();
        const head = await this.deps.store.readHead(id);
        if (!head) throw error;
        base = { seq: head.seq, snapshot: restoreDelivery(head.after) };
      }
    }
    message.nak(1_000);
  }

  /** The body to send: the delivery's own (undefined), the topic log's event, or null when that event has expired. */
  private async payloadOf(created: DeliveryCreated): Promise<Uint8Array | null | undefined> {
    const ref = created.data.bodyRef;
    if (!ref) return undefined;
    if (!this.deps.topics) throw new Error("fan-out delivery without access to the topic log");
    return (await this.deps.topics.read(ref.topicSeq))?.body ?? null;
  }

  private settle(message: JsMsg, snapshot: DeliverySnapshot): void {
    if (stateOf(snapshot) === "backoff" && snapshot.context.retryAt !== null) {
      message.nak(Math.max(snapshot.context.retryAt - this.deps.clock(), 0));
    } else {
      message.ack();
    }
  }
}
