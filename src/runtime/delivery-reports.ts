import type { AttemptResolved, DeliveryCreated } from "../domain/delivery-events.ts";
import {
  deliveryEndedReport,
  endingsOf,
  fittedReportCreated,
  reportCreated,
  reportDeliveryId,
  type ReportKind,
  reportsOwed,
} from "../domain/delivery-report.ts";
import type { DeliverySecrets } from "../domain/delivery-secrets.ts";
import type { Logger } from "../log.ts";
import type { DeliveryStore, StoredTransition } from "../nats/delivery-store.ts";
import { NatsUnavailableError } from "../nats/journal.ts";
import type { StoredSubscription, SubscriptionHead } from "../nats/subscription-store.ts";
import { secretsAt } from "./subscription-directory.ts";

/**
 * Creates the report deliveries of callbacks and errbacks. A delivery's reports are created by the
 * worker that journals its ending, after the ending is in the journal and before its work message
 * is acknowledged; a worker handed the message again (the first one died in between) finds the
 * delivery ended and creates them again. Each report's id is derived from the ending's journal
 * sequence and created at expected sequence 0, so the second create is a no-op: one report per
 * ending, and a manual retry that ends again gets a report of its own.
 */

export type DeliveryReportsDeps = {
  store: DeliveryStore;
  /** Seals a subscription's secrets onto its disabled report. */
  secrets: DeliverySecrets;
  /** Retry delays of a subscription's report when the subscription has none of its own. */
  defaultSchedule: readonly number[];
  clock: () => number;
  log: Logger;
  /**
   * The server's signing secret (HOOKD_SIGNING_SECRET, or the one hookd made; none when it is off):
   * it signs a report whose original carries no signature of its own (a plain subscription, an
   * unsigned delivery), so every report a receiver gets can be verified.
   */
  serverSecrets: readonly string[];
  /** The largest NATS message the server takes (its max_payload), which a report's created event must fit in. */
  maxPayload: () => number;
  /** HOOKD_JOURNAL_MAX_AGE: a report older than this may be gone from the journal, and made again if asked. */
  journalMaxAgeMs: number;
};

/** Room in a NATS message beside a report's created event: its headers, and a source's when the work stream takes it. */
const HEADER_ROOM = 8 * 1024;

/** Room for the clocks of the instance that disabled a subscription and of the NATS server that ages the journal. */
const AGE_MARGIN_MS = 60_000;

/** The step that ended the delivery, if its newest one did. */
function endingOf(transitions: StoredTransition[]): StoredTransition | null {
  const last = transitions.at(-1);
  return last && endingsOf([last]).length === 1 ? last : null;
}

function lastOutcome(transitions: StoredTransition[]): AttemptResolved | null {
  for (let i = transitions.length - 1; i >= 0; i--) {
    const event = transitions[i]!.event;
    if (event.type === "attempt.succeeded" || event.type === "attempt.failed") return event;
  }
  return null;
}

export class DeliveryReports {
  constructor(private readonly deps: DeliveryReportsDeps) {}

  /** Whether a delivery can owe a report at all: only then does ending it cost a read of its journal. */
  static wanted(created: DeliveryCreated): boolean {
    return !created.data.reportOf && Boolean(created.data.callbackUrl || created.data.errbackUrl);
  }

  /** Creates the reports the delivery's ending owes, if it has ended; again is a no-op. */
  async deliveryEnded(created: DeliveryCreated): Promise<void> {
    if (!DeliveryReports.wanted(created)) return;
    const transitions = await this.deps.store.readTransitions(created.data.id);
    const ending = endingOf(transitions);
    if (!ending) return;
    const state = ending.after.state as "delivered" | "failed";
    const report = deliveryEndedReport(
      created,
      { state, at: ending.event.at, attempts: ending.after.context.attempts },
      lastOutcome(transitions),
    );
    for (const { kind, url } of reportsOwed(created, state)) {
      const id = await reportDeliveryId(kind, created.data.id, ending.seq, Date.parse(ending.event.at));
      const reportOf = { kind, deliveryId: created.data.id };
      const input = {
        id,
        at: ending.event.at,
        url,
        report,
        reportOf,
        schedule: created.data.schedule,
        ...await this.#signing(created.data.secrets, created.data.dialect),
      };
      await this.#createOrGiveUp(fittedReportCreated(input, this.deps.maxPayload() - HEADER_ROOM), created.data.id);
    }
  }

  /**
   * How a report is signed: as its original (the same sealed secrets, the same dialect), unless the
   * original is unsigned (no secrets, or the plain dialect); then with the server's signing secret,
   * in Standard Webhooks, as a dispatch that brings no secret is.
   */
  async #signing(
    sealedSecrets: readonly string[],
    dialect: DeliveryCreated["data"]["dialect"],
  ): Promise<{ sealedSecrets: readonly string[]; dialect: DeliveryCreated["data"]["dialect"] }> {
    if (sealedSecrets.length > 0 && dialect !== "plain") return { sealedSecrets, dialect };
    return { sealedSecrets: await this.deps.secrets.seal(this.deps.serverSecrets), dialect: undefined };
  }

  /**
   * Creates a report, exclusively. NATS being away throws (the work message is not acknowledged, and
   * the next hand-out tries again); any other failure would fail again every time, and must not hold
   * the delivery's ending (and an ordered line) forever: it is logged, and the report is given up.
   */
  async #createOrGiveUp(report: DeliveryCreated, deliveryId: string): Promise<void> {
    try {
      await this.deps.store.create(report, { exclusive: true });
    } catch (error) {
      if (error instanceof NatsUnavailableError) throw error;
      this.deps.log.error(
        { err: error, deliveryId, reportId: report.data.id },
        "could not create a report; gave it up",
      );
    }
  }

  /**
   * At start, the errbacks of subscriptions found disabled: the instance that disabled one may have
   * stopped before making its errback, with none other running to see it. `readDisabling` finds the
   * entry that disabled it, whose sequence derives the same id as the live errback, so one already
   * made is not made again. Disablings older than the journal's max age are left alone: their
   * errback may have aged out of the journal, and would be made a second time.
   */
  async subscriptionsFoundDisabled(
    found: { id: string; subscription: StoredSubscription }[],
    readDisabling: (id: string) => Promise<SubscriptionHead | null>,
  ): Promise<void> {
    const oldest = this.deps.clock() - this.deps.journalMaxAgeMs + AGE_MARGIN_MS;
    const recent = (subscription: StoredSubscription) => Date.parse(subscription.updatedAt) > oldest;
    for (const { id, subscription } of found) {
      // The newest entry is at least as recent as the disabling one: an old one saves a journal read.
      if (!subscription.config.errbackUrl || !recent(subscription)) continue;
      const disabling = await readDisabling(id);
      if (disabling && recent(disabling.subscription)) {
        await this.subscriptionDisabled(id, disabling.subscription, disabling.seq);
      }
    }
  }

  /** The errback of a subscription just disabled by the journal entry at `seq`; again is a no-op. */
  async subscriptionDisabled(id: string, subscription: StoredSubscription, seq: number): Promise<void> {
    const config = subscription.config;
    if (!config.errbackUrl) return;
    const at = subscription.updatedAt;
    const reportId = await reportDeliveryId("errback" satisfies ReportKind, id, seq, Date.parse(at));
    const created = reportCreated({
      id: reportId,
      at,
      url: config.errbackUrl,
      report: {
        type: "subscription.disabled",
        subscription_id: id,
        reason: subscription.context.statusMessage ?? "disabled",
        at,
        target: config.url,
      },
      reportOf: { kind: "errback", subscriptionId: id },
      schedule: config.retrySchedule ?? this.deps.defaultSchedule,
      ...await this.#signing(
        await this.deps.secrets.seal(secretsAt(config.secrets, this.deps.clock())),
        config.dialect,
      ),
    });
    await this.deps.store.create(created, { exclusive: true });
  }
}
