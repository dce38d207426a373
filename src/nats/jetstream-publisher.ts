import { createInbox, errors, type MsgHdrs, type NatsConnection } from "@nats-io/transport-node";
import { endOfTurn } from "./end-of-turn.ts";
import { type EncodedHeaders, headerBlock } from "./header-block.ts";
import { unrefTimer } from "../unref-timer.ts";

/**
 * JetStream publishes on the hot paths (accepting a dispatch, every journal append), pipelined on
 * one reply subscription. nats.js's js.publish goes through a generic request per call: its own
 * timer and, even with async traces off, an Error object built on every successful reply (its
 * cancel() runs after the resolve). On this machine that was a fifth of a delivery worker's CPU.
 * Here a publish is one core publish with a reply subject, one map entry, and one JSON parse of the
 * server's acknowledgement; a single sweep times requests out.
 *
 * Publishes are also held until the end of the event-loop turn and handed to the client together,
 * which writes them to the socket in one go: under load every HTTP request arrives in its own
 * callback, so writing each request's publish on its own cost one syscall per request.
 */

export type PublishOptions = {
  headers?: Record<string, string> | undefined;
  /** JetStream dedupe id (Nats-Msg-Id). */
  msgID?: string | undefined;
  /** Optimistic concurrency: the subject's last sequence must be this (0: the subject is empty). */
  expectedLastSubjectSequence?: number | undefined;
  timeoutMs?: number | undefined;
};

export type PublishAck = { stream: string; seq: number; duplicate: boolean };

/** The server refused the publish; `errCode` is JetStream's (10071: wrong last sequence). */
export class JetStreamPublishError extends Error {
  constructor(
    readonly errCode: number,
    readonly status: number,
    description: string,
  ) {
    super(description);
  }
}

/** No answer in time, or no stream listens on the subject (a 503 without a body). */
export class JetStreamNoAckError extends Error {}

// Deadlines are on the monotonic clock: a wall clock stepped back would hold a lost publish for as long.
type Pending = {
  resolve: (ack: PublishAck) => void;
  reject: (error: Error) => void;
  deadline: number;
  subject: string;
};
type Queued = {
  subject: string;
  data: Uint8Array | string;
  reply: string;
  headers: EncodedHeaders | undefined;
  token: string;
};

const decoder = new TextDecoder();
const SWEEP_MS = 250;

export class JetStreamPublisher {
  readonly #pending = new Map<string, Pending>();
  readonly #prefix: string;
  #next = 0;
  #queue: Queued[] = [];
  #closed = false;
  readonly #sweep: ReturnType<typeof setInterval>;

  constructor(private readonly nc: NatsConnection) {
    this.#prefix = createInbox();
    nc.subscribe(`${this.#prefix}.*`, {
      callback: (error, message) => {
        if (error) return;
        const token = message.subject.slice(this.#prefix.length + 1);
        const pending = this.#pending.get(token);
        if (!pending) return;
        this.#pending.delete(token);
        if (message.data.length === 0) {
          pending.reject(
            new JetStreamNoAckError(
              `no JetStream answer (status ${message.headers?.code ?? "none"}): is a stream bound to the subject?`,
            ),
          );
          return;
        }
        let reply: {
          stream?: string;
          seq?: number;
          duplicate?: boolean;
          error?: { code?: number; err_code?: number; description?: string };
        };
        try {
          reply = JSON.parse(decoder.decode(message.data));
        } catch {
          pending.reject(new JetStreamNoAckError("an unreadable JetStream acknowledgement"));
          return;
        }
        if (reply.error) {
          pending.reject(
            new JetStreamPublishError(
              reply.error.err_code ?? 0,
              reply.error.code ?? 0,
              reply.error.description ?? "publish refused",
            ),
          );
        } else {pending.resolve({
            stream: reply.stream ?? "",
            seq: reply.seq ?? 0,
            duplicate: reply.duplicate === true,
          });}
      },
    });
    this.#sweep = unrefTimer(setInterval(() => this.#expire(performance.now()), SWEEP_MS));
    void this.#watchPermissions();
  }

  /** A publish NATS refuses hookd's user is answered by an error, not by the ack wait's timeout. */
  async #watchPermissions(): Promise<void> {
    for await (const status of this.nc.status()) {
      if (status.type !== "error" || !(status.error instanceof errors.PermissionViolationError)) continue;
      if (status.error.operation !== "publish") continue;
      const subject = status.error.subject;
      for (const [token, pending] of this.#pending) {
        if (pending.subject !== subject) continue;
        this.#pending.delete(token);
        pending.reject(new JetStreamNoAckError(`NATS does not let hookd's user publish to "${subject}"`));
      }
    }
  }

  publish(subject: string, data: Uint8Array | string, options: PublishOptions = {}): Promise<PublishAck> {
    const entries = Object.entries(options.headers ?? {});
    if (options.msgID !== undefined) entries.push(["Nats-Msg-Id", options.msgID]);
    if (options.expectedLastSubjectSequence !== undefined) {
      entries.push(["Nats-Expected-Last-Subject-Sequence", String(options.expectedLastSubjectSequence)]);
    }
    const hdrs = entries.length > 0 ? headerBlock(entries) : undefined;
    if (this.#closed) return Promise.reject(new JetStreamNoAckError("the publisher is closed"));
    const token = (this.#next++).toString(36);
    return new Promise<PublishAck>((resolve, reject) => {
      this.#pending.set(token, {
        resolve,
        reject,
        deadline: performance.now() + (options.timeoutMs ?? 5_000),
        subject,
      });
      if (this.#queue.length === 0) endOfTurn(() => this.#flush());
      this.#queue.push({ subject, data, reply: `${this.#prefix}.${token}`, headers: hdrs, token });
    });
  }

  #flush(): void {
    const queue = this.#queue;
    this.#queue = [];
    // One turn's publishes, handed over together: the client writes what it is given in one microtask as one socket write.
    for (const item of queue) {
      try {
        this.nc.publish(item.subject, item.data, {
          reply: item.reply,
          // nats.js's publish reads nothing of a MsgHdrs but its encoded bytes (see header-block.ts).
          ...(item.headers ? { headers: item.headers as unknown as MsgHdrs } : {}),
        });
      } catch (error) {
        const pending = this.#pending.get(item.token);
        this.#pending.delete(item.token);
        pending?.reject(error as Error);
      }
    }
  }

  #expire(now: number): void {
    for (const [token, pending] of this.#pending) {
      if (pending.deadline > now) continue;
      this.#pending.delete(token);
      pending.reject(new JetStreamNoAckError("timeout: no JetStream acknowledgement in time"));
    }
  }

  close(): void {
    this.#closed = true;
    this.#queue = [];
    clearInterval(this.#sweep);
    this.#expire(Infinity);
  }
}
