import { DeliverPolicy, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { type BulkJob, BulkJobSchema } from "../domain/bulk-jobs.ts";
import type { JetStreamPublisher } from "./jetstream-publisher.ts";
import { Journal, unavailable } from "./journal.ts";
import type { JetStreamLayout } from "./layout.ts";

/**
 * Bulk jobs' journals in HOOKD_JOBS: one subject per job, each entry the whole job. Writes go at the
 * subject's expected sequence, so a cancel from another instance and the runner's progress never
 * overwrite each other: the one that loses reads the job again.
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export type StoredJob = { seq: number; job: BulkJob };

export class BulkJobStore {
  readonly #journal: Journal;

  constructor(
    private readonly js: JetStreamClient,
    jsm: JetStreamManager,
    publisher: JetStreamPublisher,
    private readonly layout: JetStreamLayout,
  ) {
    this.#journal = new Journal(jsm, layout.streams.jobs, publisher);
  }

  async read(id: string): Promise<StoredJob | null> {
    const entry = await this.#journal.readLast(this.layout.subjects.bulkJob(id));
    if (!entry) return null;
    return { seq: entry.seq, job: BulkJobSchema.parse(JSON.parse(decoder.decode(entry.data))) };
  }

  /** Appends the job's new state at `expectedSeq` (0 for a new job); JournalConflictError when it moved. */
  async write(job: BulkJob, expectedSeq: number): Promise<number> {
    const subject = this.layout.subjects.bulkJob(job.id);
    const result = await this.#journal.append(subject, encoder.encode(JSON.stringify(job)), { expectedSeq });
    return result.seq;
  }

  /**
   * Calls `onJob` with the job's newest record, then with each one journaled after it (by any
   * instance), through an ordered consumer on its one subject; returns how to stop.
   */
  async follow(id: string, onJob: (job: BulkJob) => void): Promise<() => void> {
    const consumer = await this.js.consumers.getPushConsumer(this.layout.streams.jobs, {
      filter_subjects: this.layout.subjects.bulkJob(id),
      deliver_policy: DeliverPolicy.LastPerSubject,
    }).catch(unavailable);
    const messages = await consumer.consume({
      callback: (message) => {
        const job = BulkJobSchema.safeParse(JSON.parse(decoder.decode(message.data)));
        if (job.success) onJob(job.data);
      },
    }).catch(unavailable);
    return () => {
      messages.stop();
      void consumer.delete().catch(() => undefined);
    };
  }
}
