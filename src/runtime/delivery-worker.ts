import type { JsMsg } from "@nats-io/jetstream";
import { attemptInterrupted, attemptResolved, attemptStarted } from "../../actors/delivery.attempt-events.ts";
import {
  applyDeliveryEvent,
  deliveryInputOf,
  type DeliverySnapshot,
  initialDelivery,
  persistDelivery,
  restoreDelivery,
  stateOf,
} from "../../actors/delivery.fold.ts";
import { nextStep } from "../../actors/delivery.next-step.ts";
import {
  type AttemptResolved,
  type AttemptStarted,
  type DeliveryCreated,
  DeliveryCreatedSchema,
  type DeliveryTransition,
} from "../domain/delivery-events.ts";
import type { AttemptResult, HttpAttempter, OutboundRequest } from "../delivery/http-attempt.ts";
import { buildOutboundRequest } from "../delivery/outbound-request.ts";
import type { DeliverySecrets } from "../domain/delivery-secrets.ts";
import { SecretBoxError } from "../domain/secret-box.ts";
import { createdCarriedBy, type DeliveryStore, type Head, type TransitionStep } from "../nats/delivery-store.ts";
import { JournalConflictError } from "../nats/journal.ts";
import type { JetStreamLayout } from "../nats/layout.ts";
import type { Logger } from "../log.ts";
import type { TopicLog } from "../nats/topic-log.ts";
import type { RateLimiter } from "../nats/rate-limiter.ts";
import type { HookdMetrics } from "../metrics.ts";
import { OriginGate } from "./origin-gate.ts";
import type { DeliveryReports } from "./delivery-reports.ts";
import type { QuickWindows } from "./quick-windows.ts";
import { tagsOf } from "../nats/delivery-change-headers.ts";

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
  /** Opens the sealed secrets of a delivery's created event. */
  secrets: DeliverySecrets;
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
  /** How long a first attempt may take and still be journaled in one append (default QUICK_ATTEMPT_MS); below the attempt timeout. */
  quickAttemptMs?: number;
  /** Where a first attempt in its quick window can be asked to journal its start now; without it, it cannot. */
  quickWindows?: QuickWindows;
  /**
   * Attempts in flight at once to one origin (scheme://host:port). A slow receiver can then hold
   * only this many of the instance's slots, never all of them: others' deliveries keep flowing.
   */
  perOriginLimit?: number;
  /**
   * Attempts to one fast origin that may wait in the instance for its slot (default: perOriginLimit).
   * The instance's other handlers: past them the work queue stops pulling, so the backlog stays in NATS
   * instead of cycling through this instance as redeliveries.
   */
  originWaitersMax?: number;
  /** Handles WebSub lease items, which share the work queue with deliveries. */
  onLease?: (message: JsMsg) => Promise<void>;
  /** Shared rate limits (per subscription); without one, limits are not enforced. */
  rateLimiter?: RateLimiter;
  /** Told when a subscription's delivery reaches delivered or failed, for the subscription's failure policy. */
  onSubscriptionDeliveryFinished?: (outcome: SubscriptionDeliveryFinished) => Promise<void>;
  /**
   * Told, before the work message is settled, when the head of an ordered subscription's line is done
   * (delivered, failed, cancelled): the line releases its next event. Settling after it means a worker that
   * dies in between leaves the message to be handed out again, and the next worker tells the line.
   */
  onOrderedHeadDone?: (subscriptionId: string) => Promise<void>;
  /** Creates callback and errback reports once a delivery has ended; without it none are made. */
  reports?: DeliveryReports;
};

export type SubscriptionDeliveryFinished = {
  subscriptionId: string;
  deliveryId: string;
  state: "delivered" | "failed";
  /** The receiver answered 410 Gone: the subscription should stop at once. */
  gone: boolean;
};

/**
 * What the worker uses of a work-queue message. A first attempt made from an ingest batch or a fanned-out
 * event has no message of its own: an item of its carrier (runtime/first-attempts.ts) stands in for one.
 */
export type WorkItem = Pick<JsMsg, "subject" | "data" | "ack" | "nak" | "term" | "working"> & {
  readonly info: Pick<JsMsg["info"], "deliveryCount">;
};

/**
 * A delivery's state as of a journal sequence: the sequence the next append expects. `unjournaled`:
 * nothing of the delivery is journaled yet (its created event is in its ingest batch), so the first
 * append carries the created event too.
 */
type Base = { seq: number; snapshot: DeliverySnapshot; unjournaled?: boolean };
/** The body to send: the delivery's own (undefined), the topic log's event, or null when that event has expired. */
type Payload = Uint8Array | null | undefined;
/** Runs on the newest state; returns the state to decide on next, or null once the message is settled. */
type Round = (base: Base) => Promise<Base | null>;

const MAX_CONFLICT_ROUNDS = 5;
/**
 * A first attempt answered within this long is journaled in one append (start and outcome together);
 * a slower one has its start journaled when this time is up, so the journal shows it in flight.
 */
const QUICK_ATTEMPT_MS = 1_000;
/** A delivery whose secrets this instance cannot open waits this long, without using an attempt. */
const UNOPENED_SECRET_RETRY_MS = 30_000;
/** How long an attempt waits at least for its origin's slot before handing its work back to NATS. */
const ORIGIN_WAIT_MS = 250;
/** An origin whose attempts typically take longer is slow: its extra attempts go back to NATS at once. */
const FAST_ORIGIN_MS = 1_000;

function baseOf(created: DeliveryCreated, head: Head | null): Base {
  if (head) return { seq: head.seq, snapshot: restoreDelivery(head.after) };
  return { seq: 0, snapshot: initialDelivery(deliveryInputOf(created)) };
}

/** The attempts counter's label: a failure either may heal by retrying or never will. */
function outcomeLabel(outcome: AttemptResolved): "succeeded" | "permanent" | "retry" {
  if (outcome.type === "attempt.succeeded") return "succeeded";
  return outcome.data.permanent ? "permanent" : "retry";
}

/** `promise`'s value when it settles within `ms` and before `closed` does; null otherwise (it keeps running). */
async function settledWithin<T>(promise: Promise<T>, ms: number, closed?: Promise<void>): Promise<{ value: T } | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms)));
  const contenders: Promise<{ value: T } | null>[] = [promise.then((value) => ({ value })), late];
  if (closed) contenders.push(closed.then(() => null));
  try {
    return await Promise.race(contenders);
  } finally {
    clearTimeout(timer);
  }
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
  #quietUntil = 0;

  constructor(private readonly deps: WorkerDeps) {
    // Only a fast origin's attempts wait (slots free every typical attempt, so waiters keep moving); a slow origin's go back to NATS at once.
    this.#gate = deps.perOriginLimit === undefined ? null : new OriginGate({
      limit: deps.perOriginLimit,
      maxWaiting: deps.originWaitersMax ?? deps.perOriginLimit,
      maxWaitMs: ORIGIN_WAIT_MS,
      fastMs: FAST_ORIGIN_MS,
      now: () => performance.now(),
    });
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
    const created = await this.createdFor(message, id, sourcedCreate);
    if (!created) return;
    // Read even for a fresh create: a first attempt may go out before anything is journaled, so the
    // journal must be known to be empty (a cancel may have landed while it was queued).
    const head = await this.deps.store.readHead(id);
    await this.run(message, created, baseOf(created, head));
  }

  /**
   * A delivery's first work, taken from the message that carries it (an ingest batch or a fanned-out
   * event: runtime/first-attempts.ts). Handed out for the first time (nothing else can have touched it),
   * nothing of it is journaled: no head to read, its first attempt goes out at once, and its first append
   * journals its created event too. Otherwise (`item` says so through its delivery count) its start is
   * journaled first, so its journal decides; `readFirst` reads that journal before anything, where it
   * likely holds something (a carrier handed out again), instead of learning it from a refused append.
   */
  async handleBatched(
    item: WorkItem,
    created: DeliveryCreated,
    readFirst = item.info.deliveryCount > 1,
  ): Promise<void> {
    const head = readFirst ? await this.deps.store.readHead(created.data.id) : null;
    await this.run(item, created, head ? baseOf(created, head) : { ...baseOf(created, null), unjournaled: true });
  }

  /** Steps the delivery from `base` until its work is settled; one that keeps changing goes back to NATS. */
  private async run(message: WorkItem, created: DeliveryCreated, base: Base): Promise<void> {
    if (await this.appendWithRetry(created, base, (latest) => this.step(message, created, latest))) return;
    this.deps.log.warn({ id: created.data.id }, "delivery kept changing under this worker; trying again shortly");
    message.nak(1_000);
  }

  /** The delivery's created event, or null when there is none to act on (the message is then terminated). */
  private async createdFor(message: WorkItem, id: string, sourcedCreate: boolean): Promise<DeliveryCreated | null> {
    // A journal message this hookd cannot read (UnreadableEntryError) goes back to the queue: a newer hookd may read it.
    const created = this.#carriedCreated(message, sourcedCreate) ?? (await this.deps.store.readCreated(id))?.event;
    if (!created) {
      this.deps.log.warn({ id }, "work for a delivery whose journal is gone (expired?); dropping it");
      message.term();
      return null;
    }
    return created;
  }

  /**
   * The created event the work message carries: a sourced create, or a batched delivery handed to the work
   * queue (a replica that lags behind the journal's leader could not show it yet, decision record 26).
   * Undefined when it carries none, or one this hookd cannot parse: the journal's copy decides then.
   */
  #carriedCreated(message: WorkItem, sourcedCreate: boolean): DeliveryCreated | undefined {
    try {
      return sourcedCreate
        ? DeliveryCreatedSchema.parse(JSON.parse(new TextDecoder().decode(message.data)))
        : createdCarriedBy(message.data);
    } catch (error) {
      this.deps.log.warn(
        { err: error, subject: message.subject },
        "a work message's created event does not parse; reading the journal's",
      );
      return undefined;
    }
  }

  /**
   * The conflict loop, written once. `round` decides on the delivery's newest state and appends at its
   * sequence (through `append`). A JournalConflictError means another writer appended first: read the
   * head again and run the round anew. False when the delivery kept changing for MAX_CONFLICT_ROUNDS rounds.
   */
  private async appendWithRetry(created: DeliveryCreated, start: Base, round: Round): Promise<boolean> {
    let base = start;
    for (let i = 0; i < MAX_CONFLICT_ROUNDS; i++) {
      try {
        const next = await round(base);
        if (!next) return true;
        base = next;
      } catch (error) {
        if (!(error instanceof JournalConflictError)) throw error;
        this.deps.metrics?.conflicts.inc();
        base = baseOf(created, await this.deps.store.readHead(created.data.id));
      }
    }
    return false;
  }

  /**
   * Appends `events` at `base`'s sequence, in one message: the new state, or null when the machine
   * refuses one of them there (then nothing is appended).
   */
  private async append(created: DeliveryCreated, base: Base, ...events: DeliveryTransition[]): Promise<Base | null> {
    const steps: TransitionStep[] = [];
    let snapshot = base.snapshot;
    for (const event of events) {
      const after = applyDeliveryEvent(snapshot, event);
      if (!after) return null;
      steps.push({ event, after: persistDelivery(after) });
      snapshot = after;
    }
    const change = { from: stateOf(base.snapshot), tags: tagsOf(created) };
    const embedded = base.unjournaled ? created : undefined;
    const seq = await this.deps.store.appendTransitions(created.data.id, steps, base.seq, change, embedded);
    return { seq, snapshot };
  }

  /** One round of handle: does what the delivery's newest state asks for now. */
  private async step(message: WorkItem, created: DeliveryCreated, base: Base): Promise<Base | null> {
    const now = this.deps.clock();
    const next = nextStep(base.snapshot, now, this.deps.leaseMs);
    switch (next.kind) {
      case "ack":
        // The worker that journaled the ending may have stopped before making its reports: make them (again, a no-op).
        await this.deps.reports?.deliveryEnded(created);
        if (created.data.ordered) await this.orderedHeadDone(created);
        message.ack();
        return null;
      case "nak":
        // NATS redelivered early, a duplicate work item, or another worker's attempt: come back when it may be due.
        message.nak(next.delayMs);
        return null;
      case "attempt":
        await this.attempt(message, created, base);
        return null;
      case "record-interrupted":
        return this.recordInterrupted(created, base, now);
    }
  }

  /** The worker that started the attempt on the wire stopped before recording its outcome: record one for it. */
  private async recordInterrupted(created: DeliveryCreated, base: Base, now: number): Promise<Base> {
    const interrupted = attemptInterrupted(base.snapshot, created.data.request, now);
    this.deps.metrics?.attempts.inc({ outcome: "interrupted" });
    const next = await this.append(created, base, interrupted);
    if (!next) {
      throw new Error(`delivery ${created.data.id} refused an interrupted attempt in state ${stateOf(base.snapshot)}`);
    }
    if (stateOf(next.snapshot) === "failed") await this.reportFinished(created, "failed", false);
    return next;
  }

  /**
   * Everything that can fail on NATS, or defer the work, happens before the attempt takes its origin's
   * slot: a read error costs no attempt, and the slot's time is the attempt's own (the origin's pace).
   */
  private async attempt(message: WorkItem, created: DeliveryCreated, base: Base): Promise<void> {
    if (await this.deferredByRateLimit(message, created)) return;
    const payload = await this.payloadOf(created);
    const prepared = await this.outboundRequest(created, payload);
    if (!prepared) {
      message.nak(UNOPENED_SECRET_RETRY_MS);
      return;
    }
    if (!this.#gate) return this.attemptWithinShare(message, created, base, payload, prepared, () => undefined);
    const release = await this.#gate.enter(originOf(created.data.request.url));
    if (!release) {
      // This origin holds its share of the slots and of the queue: come back shortly, without using an attempt.
      message.nak(250 + Math.floor(this.deps.random() * 500));
      return;
    }
    try {
      await this.attemptWithinShare(message, created, base, payload, prepared, release);
    } finally {
      release();
    }
  }

  /**
   * One attempt. A delivery's first attempt, on its first hand-out, goes on the wire at once: if its
   * outcome comes within `quickAttemptMs`, the start and the outcome are journaled together in one
   * append (every state still shows in the history); a slower one has its start journaled when that
   * time is up, so the journal shows it in flight while it lasts. Every other attempt (a retry, or work
   * NATS handed out again) journals its start first, so two workers holding the same delivery can't
   * both send it. A worker that dies mid-attempt leaves its message unacknowledged: the attempt is
   * made again after the lease, and recorded as interrupted when its start was journaled.
   */
  private async attemptWithinShare(
    message: WorkItem,
    created: DeliveryCreated,
    base: Base,
    payload: Payload,
    prepared: { outbound: OutboundRequest; unopenable?: string },
    /** Frees the origin's slot once the receiver has answered: journaling the outcome is not the origin's time. */
    releaseOrigin: () => void,
  ): Promise<void> {
    const { outbound, unopenable } = prepared;
    const started = attemptStarted(base.snapshot, this.deps.workerId, this.deps.clock());
    // Only the create's own work item, handed out for the first time, on a journal read as empty; a
    // work item a retry queued never goes out unjournaled (the create's may still be in flight).
    const firstHandOut = base.seq === 0 && message.info.deliveryCount === 1 &&
      this.deps.layout.parseSubject(message.subject)?.kind === "delivery-created";
    const inFlightFirst = firstHandOut ? null : await this.recordStarted(created, base, started);
    // Asked for meanwhile (/verify from the receiver's handler), the window closes: see QuickWindows.
    const window = inFlightFirst ? null : this.deps.quickWindows?.open(created.data.id);
    const sending = unopenable
      ? Promise.resolve<AttemptResult>({ latencyMs: 0, errorCode: "secret-unopenable", error: unopenable })
      : this.send(message, outbound, payload);
    void sending.finally(releaseOrigin).catch(() => undefined);
    try {
      const quick = inFlightFirst
        ? null
        : await settledWithin(sending, this.deps.quickAttemptMs ?? QUICK_ATTEMPT_MS, window?.asked);
      if (quick) return await this.recordQuickAttempt(message, created, base, started, outbound, quick.value);
      let inFlight = inFlightFirst;
      try {
        inFlight ??= await this.recordStarted(created, base, started);
      } catch (error) {
        // The request is already out: its start and outcome are journaled together once it ends (on the
        // newest state, after a conflict); only if that fails too does the work go back to NATS. An asker
        // hears now that it will not be journaled sooner: the receiver may be waiting for that answer.
        window?.done();
        const result = await sending;
        try {
          return await this.recordQuickAttempt(message, created, base, started, outbound, result);
        } catch {
          throw error;
        }
      }
      window?.done();
      await this.recordLateOutcome(message, created, outbound, inFlight, await sending);
    } finally {
      window?.done();
    }
  }

  /** Journals the outcome of an attempt whose start is journaled, on the newest state. */
  private async recordLateOutcome(
    message: WorkItem,
    created: DeliveryCreated,
    outbound: OutboundRequest,
    inFlight: Base,
    result: AttemptResult,
  ): Promise<void> {
    const outcome = this.resolve(created, inFlight, outbound, result);
    // Someone may have appended meanwhile (a cancel), so the outcome is applied on the newest state.
    const record: Round = (latest) => this.recordOutcome(message, created, latest, outcome);
    if (!(await this.appendWithRetry(created, inFlight, record))) message.nak(1_000);
  }

  /** Journals a quick attempt's start and outcome in one append, on the newest state that still takes them. */
  private async recordQuickAttempt(
    message: WorkItem,
    created: DeliveryCreated,
    base: Base,
    started: AttemptStarted,
    outbound: OutboundRequest,
    result: AttemptResult,
  ): Promise<void> {
    const inFlight = applyDeliveryEvent(base.snapshot, started);
    if (!inFlight) throw new Error(`delivery ${created.data.id} refused attempt ${started.data.attempt}`);
    const outcome = this.resolve(created, { seq: base.seq, snapshot: inFlight }, outbound, result);
    const record: Round = async (latest) => {
      const after = await this.append(created, latest, started, outcome);
      if (!after) return this.outcomeNoLongerApplies(message, created.data.id, latest, outcome);
      return this.afterOutcome(message, created, after, outcome);
    };
    if (!(await this.appendWithRetry(created, base, record))) message.nak(1_000);
  }

  /** True when the subscription is over its rate and the message went back to NATS. */
  private async deferredByRateLimit(message: WorkItem, created: DeliveryCreated): Promise<boolean> {
    const limit = created.data.rateLimit;
    if (!limit || !this.deps.rateLimiter) return false;
    const wait = await this.deps.rateLimiter.reserve(limit.key, limit.perSecond, this.deps.clock());
    if (wait <= 0) return false;
    // No attempt is used: NATS hands the message back when a slot may be free.
    message.nak(wait + Math.floor(this.deps.random() * (1000 / limit.perSecond)));
    return true;
  }

  private async payloadOf(created: DeliveryCreated): Promise<Payload> {
    const ref = created.data.bodyRef;
    if (!ref) return undefined;
    if (!this.deps.topics) throw new Error("fan-out delivery without access to the topic log");
    return (await this.deps.topics.readRecent(ref.topicSeq))?.body ?? null;
  }

  /**
   * The request to send. Null when the secrets are sealed under a key this instance lacks: the work
   * waits for an instance that has it (or for this one, once configured), using no attempt. A sealed
   * text that no key will ever open (malformed, tampered) comes back as `unopenable`: a permanent failure.
   */
  private async outboundRequest(
    created: DeliveryCreated,
    payload: Payload,
  ): Promise<{ outbound: OutboundRequest; unopenable?: string } | null> {
    let secrets: string[] = [];
    let unopenable: string | undefined;
    try {
      secrets = await this.deps.secrets.open(created.data.secrets);
    } catch (error) {
      if (!(error instanceof SecretBoxError)) throw error;
      if (error.unknownKey) {
        this.#reportUnknownKey(created.data.id, error);
        return null;
      }
      unopenable = error.message;
    }
    const outbound = await buildOutboundRequest({
      deliveryId: created.data.id,
      request: created.data.request,
      body: payload ?? undefined,
      secrets,
      dialect: created.data.dialect,
      now: this.deps.clock(),
    });
    return unopenable === undefined ? { outbound } : { outbound, unopenable };
  }

  /** Logged at most every UNOPENED_SECRET_RETRY_MS: a missing key can hold back many deliveries at once. */
  #reportUnknownKey(id: string, error: SecretBoxError): void {
    const now = this.deps.clock();
    if (now < this.#quietUntil) return;
    this.#quietUntil = now + UNOPENED_SECRET_RETRY_MS;
    this.deps.log.error(
      { id, reason: error.message },
      "deliveries wait: their secrets are sealed under a key this instance lacks",
    );
  }

  private async recordStarted(created: DeliveryCreated, base: Base, started: AttemptStarted): Promise<Base> {
    const inFlight = await this.append(created, base, started);
    if (!inFlight) {
      const state = stateOf(base.snapshot);
      throw new Error(`delivery ${created.data.id} refused attempt ${started.data.attempt} in state ${state}`);
    }
    return inFlight;
  }

  /** Sends the request, telling NATS meanwhile that the message is still being worked on. */
  private async send(message: WorkItem, outbound: OutboundRequest, payload: Payload): Promise<AttemptResult> {
    if (payload === null) {
      return { latencyMs: 0, errorCode: "payload-expired", error: "the event is no longer in the topic log" };
    }
    // Without the heartbeat, NATS would hand a slow attempt's message to a second worker after the ack wait.
    const heartbeat = setInterval(() => message.working(), Math.max(this.deps.leaseMs / 3, 1_000));
    try {
      return await this.deps.attempter.send(outbound);
    } finally {
      clearInterval(heartbeat);
    }
  }

  /** Which event the attempt's result is; the clock and the random draw are read here, once. */
  private resolve(
    created: DeliveryCreated,
    inFlight: Base,
    outbound: OutboundRequest,
    result: AttemptResult,
  ): AttemptResolved {
    this.deps.metrics?.attemptSeconds.observe(result.latencyMs / 1000);
    const outcome = attemptResolved({
      inFlight: inFlight.snapshot,
      request: outbound,
      report: result,
      schedule: created.data.schedule,
      now: this.deps.clock(),
      random: this.deps.random(),
    });
    this.deps.metrics?.attempts.inc({ outcome: outcomeLabel(outcome) });
    return outcome;
  }

  /** One round of recording an outcome, then telling the subscription and settling the message. */
  private async recordOutcome(
    message: WorkItem,
    created: DeliveryCreated,
    base: Base,
    outcome: AttemptResolved,
  ): Promise<null> {
    const after = await this.append(created, base, outcome);
    if (!after) return this.outcomeNoLongerApplies(message, created.data.id, base, outcome);
    return this.afterOutcome(message, created, after, outcome);
  }

  /** Someone else moved the delivery on; hand the message back so the newest state decides what it needs. */
  private outcomeNoLongerApplies(message: WorkItem, id: string, base: Base, outcome: AttemptResolved): null {
    const state = stateOf(base.snapshot);
    this.deps.log.warn(
      { id, attempt: outcome.data.attempt, state },
      "outcome no longer applies; leaving the delivery as it is",
    );
    message.nak(1_000);
    return null;
  }

  /** The outcome is journaled: count a finished delivery, report it, settle the message. */
  private async afterOutcome(
    message: WorkItem,
    created: DeliveryCreated,
    after: Base,
    outcome: AttemptResolved,
  ): Promise<null> {
    const state = stateOf(after.snapshot);
    if (state === "delivered" || state === "failed") {
      this.deps.metrics?.finished.inc({ state });
      await this.reportFinished(created, state, outcome.data.response?.status === 410);
    }
    this.settle(message, after.snapshot);
    return null;
  }

  /**
   * Tells the subscription, then makes the reports. A report that fails (NATS away) throws, so the
   * message is not acknowledged and the next hand-out makes it (the "ack" step); the subscription has
   * been told by then.
   */
  private async reportFinished(created: DeliveryCreated, state: "delivered" | "failed", gone: boolean): Promise<void> {
    const subscriptionId = created.data.subscriptionId;
    if (subscriptionId) {
      await this.deps.onSubscriptionDeliveryFinished?.({ subscriptionId, deliveryId: created.data.id, state, gone });
    }
    await this.deps.reports?.deliveryEnded(created);
    // After the failure policy, so a subscription it disabled holds its line still.
    await this.orderedHeadDone(created);
  }

  private async orderedHeadDone(created: DeliveryCreated): Promise<void> {
    const subscriptionId = created.data.subscriptionId;
    if (created.data.ordered && subscriptionId) await this.deps.onOrderedHeadDone?.(subscriptionId);
  }

  private settle(message: WorkItem, snapshot: DeliverySnapshot): void {
    if (stateOf(snapshot) === "backoff" && snapshot.context.retryAt !== null) {
      message.nak(Math.max(snapshot.context.retryAt - this.deps.clock(), 0));
    } else {
      message.ack();
    }
  }
}
