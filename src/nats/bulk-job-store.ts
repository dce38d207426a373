import { DeliverPolicy, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { z } from "zod";
import { type BulkJob, BulkJobSchema } from "../domain/bulk-jobs.ts";
import type { JetStreamPublisher } from "./jetstream-publisher.ts";
import { Journal, unavailable } from "./journal.ts";
import type { JetStreamLayout } from "./layout.ts";

/**
 * Bulk jobs' journals in HOOKD_JOBS: one subject per job, each entry the whole job. Writes go at the
 * subject's expected sequence, so a cancel from another instance, the runner's progress and another
 * instance taking the job over never overwrite each other: the one that loses reads the job again.
 * Beside each job, the deliveries it acts on, in order, in pages written once when it starts: what
 * an instance that takes the job over goes on with from the job's cursor.
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const IdsSchema = z.array(z.string());

export type StoredJob = { seq: number; job: BulkJob };

/** Delivery ids per page of a job's list: about 60 KB, far below any max_payload hookd runs with. */
export const IDS_PER_PAGE = 2_000;

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

  /** Journals a new job's list of deliveries in pages; answers how many pages. */
  async writeIds(id: string, ids: readonly string[]): Promise<number> {
    const pages = Math.ceil(ids.length / IDS_PER_PAGE);
    await Promise.all(Array.from({ length: pages }, (_, page) =>
      this.#journal.append(
        this.layout.subjects.bulkJobIds(id, page),
        encoder.encode(JSON.stringify(ids.slice(page * IDS_PER_PAGE, (page + 1) * IDS_PER_PAGE))),
        { expectedSeq: 0 },
      )));
    return pages;
  }

  /**
   * A job's list of deliveries, as writeIds journaled it; null when a page is gone (aged out, purged).
   * NATS being unavailable is an error, not a missing list.
   */
  async readIds(id: string, pages: number): Promise<string[] | null> {
    const read = await Promise.all(Array.from({ length: pages }, async (_, page) => {
      const entry = await this.#journal.readLast(this.layout.subjects.bulkJobIds(id, page));
      return entry ? IdsSchema.parse(JSON.parse(decoder.decode(entry.data))) : null;
    }));
    return read.some((page) => page === null) ? null : read.flatMap((page) => page ?? []);
  }

  /**
   * Calls `onJob` with every job's newest record and journal sequence, then with each record
   * journaled after (by any instance), through one ordered consumer; returns how to stop. The
   * consumer recovers from reconnects by itself, reading the newest records again.
   */
  async followAll(onJob: (job: BulkJob, seq: number) => void, onLost: (error: unknown) => void): Promise<() => void> {
    const consumer = await this.js.consumers.get(this.layout.streams.jobs, {
      filter_subjects: this.layout.subjects.allBulkJobs,
      deliver_policy: DeliverPolicy.LastPerSubject,
    }).catch(unavailable);
    const messages = await consumer.consume().catch(unavailable);
    let stopped = false;
    void (async () => {
      for await (const message of messages) {
        const job = BulkJobSchema.safeParse(JSON.parse(decoder.decode(message.data)));
        if (job.success) onJob(job.data, message.seq);
      }
    })().catch((error: unknown) => stopped || onLost(error));
    return () => {
      stopped = true;
      messages.stop();
    };
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
