import { type HeadState, type LineState, releasesNext } from "../domain/ordered-line.ts";
import type { SubscriptionIndex } from "../domain/subscription-index.ts";
import type { Logger } from "../log.ts";
import type { DeliveryStore } from "../nats/delivery-store.ts";
import { JournalConflictError, orWhenUnreadable } from "../nats/journal.ts";
import type { JetStreamLayout } from "../nats/layout.ts";
import type { LineStore, StoredLine } from "../nats/line-store.ts";
import type { PublishedEvent, TopicLog } from "../nats/topic-log.ts";
import type { FanOutEvent } from "./fan-out.ts";
import type { FanOutTarget } from "./subscription-directory.ts";

/**
 * Ordered subscriptions (decision record 21): the topic log, filtered by the subscription's topic, is
 * the line, and HOOKD_LINES records its head. The delivery of event n+1 is created only once the
 * delivery of event n is delivered, finally failed or cancelled, and the head moves by compare-and-set,
 * so however many instances push a line at once, and whichever of them dies, no event is attempted
 * before the one ahead of it is done. `advance` is safe to call at any time, from anywhere: the
 * fan-out calls it for each new event, the worker when a head finishes, the API when a line resumes.
 */

export type OrderedLinesDeps = {
  lines: LineStore;
  deliveries: DeliveryStore;
  topics: TopicLog;
  index: SubscriptionIndex<FanOutTarget>;
  layout: JetStreamLayout;
  /** Creates (once; again is a no-op) the delivery of an event to the subscription, returning its id. */
  create: (event: FanOutEvent, target: FanOutTarget) => Promise<{ id: string; created: boolean }>;
  log: Logger;
};

/** What the API and the console show of a line. */
export type LineView = {
  /** `unreadable`: the head delivery's journal holds what this hookd cannot read (a newer hookd's, or damaged). */
  head: { eventId: string; deliveryId: string; topicSeq: number; state: HeadState | "unreadable" } | null;
  /** Events on the subscription's topic after the head (before its event types are applied). */
  waiting: number;
};

/** Moves per call: each is one event whose delivery was already finished (a line catching up after a crash). */
const MAX_MOVES = 20;
/** Events of other types passed over per call, so one call stays short on a busy topic. */
const MAX_SKIPPED = 1_000;

export class OrderedLines {
  #sweeping = false;

  constructor(private readonly deps: OrderedLinesDeps) {}

  /** Starts a new ordered subscription's line at the end of the topic log: it takes the events published from now on. */
  async open(subscriptionId: string): Promise<void> {
    const state: LineState = { topicSeq: await this.deps.topics.lastSeq(), head: null };
    try {
      await this.deps.lines.write(subscriptionId, state, 0);
    } catch (error) {
      // Opened already (by another instance, or before a restart): it keeps its place.
      if (!(error instanceof JournalConflictError)) throw error;
    }
  }

  /** Releases the next event of the line if its head is done; does nothing while the head is pending or being tried. */
  async advance(subscriptionId: string): Promise<void> {
    for (let move = 0; move < MAX_MOVES; move++) {
      const target = this.deps.index.get(subscriptionId);
      // A paused or disabled subscription's line holds still; activating it moves it on.
      if (!target?.ordered || !target.active) return;
      const line = await this.#lineOf(subscriptionId);
      if (!releasesNext(await this.#headState(line.state))) return;
      const next = await this.#nextEvent(target, line.state.topicSeq);
      if (!next.found) {
        // Only events of other types: remember how far the line has read, so they are not read again.
        if (next.readTo > line.state.topicSeq) {
          await this.#write(subscriptionId, { ...line.state, topicSeq: next.readTo }, line);
        }
        return;
      }
      const { event, storedAtMs } = next.found;
      const delivery = await this.deps.create(fanOutEventOf(event, storedAtMs), target);
      const head = { eventId: event.id, deliveryId: delivery.id, topicSeq: event.seq };
      if (!(await this.#write(subscriptionId, { topicSeq: event.seq, head }, line))) continue;
      // A new delivery is pending: the line waits for it. One made before a crash may be done already.
      if (delivery.created) return;
    }
  }

  /**
   * Moves every active ordered line that can move. Every event and every finished head already tells
   * its line; this catches what those can miss (an instance that had not yet heard of a new subscription,
   * a kill between a head's end and the line hearing of it, a read answered by a lagging replica).
   */
  async sweep(): Promise<void> {
    // A slow sweep (NATS away) is not joined by the next one.
    if (this.#sweeping) return;
    this.#sweeping = true;
    try {
      for (const target of [...this.deps.index.all()]) {
        if (!target.ordered || !target.active) continue;
        await this.advance(target.id).catch((error: unknown) =>
          this.deps.log.warn({ err: error, subscriptionId: target.id }, "could not move an ordered line on")
        );
      }
    } finally {
      this.#sweeping = false;
    }
  }

  /** The line of an ordered subscription: its head with the head's state, and how many events wait behind it. */
  async view(subscriptionId: string): Promise<LineView | null> {
    const target = this.deps.index.get(subscriptionId);
    if (!target?.ordered) return null;
    const line = await this.deps.lines.read(subscriptionId);
    const topicSeq = line?.state.topicSeq ?? await this.deps.topics.lastSeq();
    const waiting = await this.deps.topics.countAfter(topicSeq, this.#filter(target));
    const head = line?.state.head;
    if (!head) return { head: null, waiting };
    const state = await orWhenUnreadable<HeadState | "unreadable" | null>(this.#headState(line.state), (error) => {
      this.deps.log.warn(
        { err: error, subscriptionId },
        "an ordered line's head delivery cannot be read by this hookd",
      );
      return "unreadable" as const;
    });
    return { head: { ...head, state: state! }, waiting };
  }

  /** The line as stored; one that was never opened (a crash between creating the subscription and opening it) starts now. */
  async #lineOf(subscriptionId: string): Promise<StoredLine> {
    const line = await this.deps.lines.read(subscriptionId);
    if (line) return line;
    this.deps.log.warn(
      { subscriptionId },
      "an ordered subscription had no line; it starts at the end of the topic log",
    );
    await this.open(subscriptionId);
    return (await this.deps.lines.read(subscriptionId))!;
  }

  async #headState(state: LineState): Promise<HeadState | null> {
    if (!state.head) return null;
    const id = state.head.deliveryId;
    const head = await this.deps.deliveries.readHead(id);
    if (head) return head.after.state;
    // No transition yet: pending, unless its journal aged out (HOOKD_JOURNAL_MAX_AGE), which must not stop the line.
    if (await this.deps.deliveries.readJournaledCreated(id)) return "pending";
    // Reads above may come from a replica that has not yet stored a head created a moment ago: only
    // the leader may say it is gone, or the line would move on past an event not yet attempted.
    return (await this.deps.deliveries.isJournaledOnLeader(id)) ? "pending" : "gone";
  }

  /** The first event after `afterSeq` that the subscription takes; or how far the reading got without one. */
  async #nextEvent(
    target: FanOutTarget,
    afterSeq: number,
  ): Promise<{ found: { event: PublishedEvent; storedAtMs: number } | null; readTo: number }> {
    const filter = this.#filter(target);
    let readTo = afterSeq;
    for (let skipped = 0; skipped < MAX_SKIPPED; skipped++) {
      const next = await this.deps.topics.readNext(readTo, filter);
      if (!next) return { found: null, readTo };
      const { type } = next.event;
      if (!target.eventTypes || (type !== null && target.eventTypes.includes(type))) return { found: next, readTo };
      readTo = next.event.seq;
    }
    return { found: null, readTo };
  }

  #filter(target: FanOutTarget): string {
    return this.deps.layout.subjects.topicFilter({ topic: target.topic, recursive: target.recursive }, "safe");
  }

  /** True when the line moved; false when someone else moved it first (the caller reads it again). */
  async #write(subscriptionId: string, state: LineState, line: StoredLine): Promise<boolean> {
    try {
      await this.deps.lines.write(subscriptionId, state, line.seq);
      return true;
    } catch (error) {
      if (!(error instanceof JournalConflictError)) throw error;
      return false;
    }
  }
}

function fanOutEventOf(event: PublishedEvent, storedAtMs: number): FanOutEvent {
  const { seq, topic, id, type, contentType } = event;
  return { seq, topic, id, type, contentType, storedAtMs };
}
