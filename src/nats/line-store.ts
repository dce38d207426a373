import type { JetStreamManager } from "@nats-io/jetstream";
import { type LineState, LineStateSchema } from "../domain/ordered-line.ts";
import type { JetStreamPublisher } from "./jetstream-publisher.ts";
import { Journal } from "./journal.ts";
import type { JetStreamLayout } from "./layout.ts";

/**
 * Ordered subscriptions' lines: one message per subscription in HOOKD_LINES, replaced only by an
 * append at the sequence it was read at (a compare-and-set), so two instances moving one line at
 * once cannot both move it: the second gets a JournalConflictError and reads again.
 */

export type StoredLine = { seq: number; state: LineState };

export class LineStore {
  readonly #journal: Journal;

  constructor(jsm: JetStreamManager, publisher: JetStreamPublisher, private readonly layout: JetStreamLayout) {
    this.#journal = new Journal(jsm, layout.streams.lines, publisher);
  }

  async read(subscriptionId: string): Promise<StoredLine | null> {
    const entry = await this.#journal.readLast(this.layout.subjects.line(subscriptionId));
    if (!entry) return null;
    return { seq: entry.seq, state: LineStateSchema.parse(JSON.parse(new TextDecoder().decode(entry.data))) };
  }

  /** Writes the line's new state, decided on the version at `expectedSeq` (0: the line must not exist yet). */
  async write(subscriptionId: string, state: LineState, expectedSeq: number): Promise<number> {
    const subject = this.layout.subjects.line(subscriptionId);
    return (await this.#journal.append(subject, JSON.stringify(state), { expectedSeq })).seq;
  }
}
