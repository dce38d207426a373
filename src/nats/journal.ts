import type { JetStreamManager, MsgRequest, StoredMsg } from "@nats-io/jetstream";
import { type JetStreamPublisher, JetStreamPublishError } from "./jetstream-publisher.ts";

/**
 * An event store on one JetStream stream: read a subject, append to a subject at an expected
 * sequence. A concurrent writer makes the append fail with JournalConflictError, and the caller
 * reloads and decides again.
 */

export class JournalConflictError extends Error {
  constructor(subject: string, expected: number) {
    super(`journal ${subject} moved past sequence ${expected}`);
  }
}

/** NATS could not take or confirm a write; nothing may be reported as accepted. */
export class NatsUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`NATS JetStream is unavailable: ${(cause as Error)?.message ?? cause}`);
  }
}

/** The message is bigger than the NATS server's max_payload: the request was too large, not NATS unavailable. */
export class PayloadTooLargeError extends Error {}

/**
 * A journal message this hookd cannot read: written by a newer hookd sharing the NATS (an event type
 * this one does not know), or damaged. Raised where a message is parsed, naming it (an ingest batch
 * not yet worked stands for its deliveries' first messages, and is named the same way).
 */
export class UnreadableEntryError extends Error {
  constructor(readonly subject: string, readonly seq: number, cause: unknown) {
    super(`this hookd cannot read journal message #${seq} on ${subject} (written by a newer hookd, or damaged)`, {
      cause,
    });
  }
}

/**
 * What `reading` resolves to, or what `instead` makes of the UnreadableEntryError it met: for a reader
 * that answers for more than the one delivery. Any other error is thrown on.
 */
export async function orWhenUnreadable<T>(
  reading: Promise<T>,
  instead: (error: UnreadableEntryError) => T,
): Promise<T> {
  try {
    return await reading;
  } catch (error) {
    if (error instanceof UnreadableEntryError) return instead(error);
    throw error;
  }
}

export type JournalEntry = {
  seq: number;
  subject: string;
  time: Date;
  headers: Record<string, string>;
  data: Uint8Array;
};

export type AppendOptions = {
  /** The subject's last sequence this write was decided on; 0 means "the subject must be empty". */
  expectedSeq?: number;
  msgID?: string;
  headers?: Record<string, string>;
  timeoutMs?: number;
};

export type AppendResult = { seq: number; duplicate: boolean };

function toEntry(message: StoredMsg): JournalEntry {
  const headers: Record<string, string> = {};
  for (const key of message.header?.keys() ?? []) headers[key] = message.header!.get(key);
  return { seq: message.seq, subject: message.subject, time: message.time, headers, data: message.data };
}

const WRONG_LAST_SEQUENCE = 10071;

/** A failed publish is a body too large for NATS (the client's max_payload check, or the server's), or NATS being unavailable. */
export function publishFailure(error: unknown): Error {
  if (/max_payload|maximum payload/i.test(String(error))) return new PayloadTooLargeError(String(error));
  return new NatsUnavailableError(error);
}

/** For `.catch()` on a NATS read: any failure there means NATS is unavailable (a 503), never a missing entry. */
export function unavailable(error: unknown): never {
  throw new NatsUnavailableError(error);
}

export class Journal {
  constructor(
    private readonly jsm: JetStreamManager,
    readonly stream: string,
    private readonly publisher: JetStreamPublisher,
  ) {}

  async append(subject: string, data: Uint8Array | string, options: AppendOptions = {}): Promise<AppendResult> {
    try {
      const ack = await this.publisher.publish(subject, data, {
        headers: options.headers,
        msgID: options.msgID,
        expectedLastSubjectSequence: options.expectedSeq,
        timeoutMs: options.timeoutMs,
      });
      return { seq: ack.seq, duplicate: ack.duplicate };
    } catch (error) {
      if (error instanceof JetStreamPublishError && error.errCode === WRONG_LAST_SEQUENCE) {
        throw new JournalConflictError(subject, options.expectedSeq ?? -1);
      }
      throw publishFailure(error);
    }
  }

  async readLast(subject: string): Promise<JournalEntry | null> {
    const message = await this.jsm.direct.getMessage(this.stream, { last_by_subj: subject }).catch(unavailable);
    return message ? toEntry(message) : null;
  }

  /**
   * As readLast, but answered by the stream's leader: a direct get may be answered by any replica,
   * and one lagging behind has not stored the newest entries yet. For an absence that must be true.
   */
  async readLastFromLeader(subject: string): Promise<JournalEntry | null> {
    const message = await this.jsm.streams.getMessage(this.stream, { last_by_subj: subject }).catch(unavailable);
    return message ? toEntry(message) : null;
  }

  async readAt(seq: number): Promise<JournalEntry | null> {
    const message = await this.jsm.direct.getMessage(this.stream, { seq }).catch(unavailable);
    return message ? toEntry(message) : null;
  }

  /** The oldest entry of one subject. */
  async readFirst(subject: string): Promise<JournalEntry | null> {
    const message = await this.jsm.direct.getMessage(this.stream, { seq: 1, next_by_subj: subject }).catch(unavailable);
    return message ? toEntry(message) : null;
  }

  /** As readFirst, but answered by the stream's leader (see readLastFromLeader). */
  async readFirstFromLeader(subject: string): Promise<JournalEntry | null> {
    // nats-server takes next_by_subj in a leader's get as in a direct one (2.9 does); nats.js types only the direct one's.
    const request = { seq: 1, next_by_subj: subject } as unknown as MsgRequest;
    const message = await this.jsm.streams.getMessage(this.stream, request).catch(unavailable);
    return message ? toEntry(message) : null;
  }

  /** Every entry of one subject, oldest first. */
  async readAll(subject: string): Promise<JournalEntry[]> {
    const entries: JournalEntry[] = [];
    let seq = 0;
    for (;;) {
      const message = await this.jsm.direct.getMessage(this.stream, { seq: seq + 1, next_by_subj: subject }).catch(
        unavailable,
      );
      if (!message) return entries;
      entries.push(toEntry(message));
      seq = message.seq;
    }
  }
}
