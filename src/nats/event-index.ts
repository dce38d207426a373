import type { JetStreamManager } from "@nats-io/jetstream";
import { Journal, JournalConflictError } from "./journal.ts";
import type { JetStreamPublisher } from "./jetstream-publisher.ts";
import type { JetStreamLayout } from "./layout.ts";

/**
 * Where each published event sits in the topic log, by its id. The topic log is addressed by
 * sequence and its subjects name topics, so an event id alone would mean scanning the log's
 * headers; instead each publish leaves one small record in the journal stream, on the event's own
 * subject (layout.subjects.publishedEvent) holding the sequence, and GET /api/v1/events/<id> costs
 * two direct reads. The record lives in the
 * journal, which keeps entries longer than the topic log (HOOKD_JOURNAL_MAX_AGE, 30 days, against
 * HOOKD_TOPIC_MAX_AGE, 7): an event that has aged out of the log is then known to have existed.
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class EventIndex {
  readonly #journal: Journal;
  readonly #subject: (eventId: string) => string;

  constructor(jsm: JetStreamManager, publisher: JetStreamPublisher, layout: JetStreamLayout) {
    this.#journal = new Journal(jsm, layout.streams.journal, publisher);
    this.#subject = layout.subjects.publishedEvent;
  }

  /** Records the event's sequence once: a record that exists already (a repeated publish) stays as it is. */
  async record(eventId: string, seq: number): Promise<void> {
    try {
      await this.#journal.append(this.#subject(eventId), encoder.encode(JSON.stringify({ seq })), { expectedSeq: 0 });
    } catch (error) {
      if (!(error instanceof JournalConflictError)) throw error;
    }
  }

  /** The event's topic-log sequence, or null when no event with this id was recorded (or its record aged out). */
  async seqOf(eventId: string): Promise<number | null> {
    const entry = await this.#journal.readLast(this.#subject(eventId));
    if (!entry) return null;
    const { seq } = JSON.parse(decoder.decode(entry.data)) as { seq: number };
    return seq;
  }
}
