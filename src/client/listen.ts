import { createParser, type EventSourceMessage } from "eventsource-parser";
import { backoffDelay, type BackoffOptions, checkBackoff } from "./backoff.ts";
import { endpoint } from "./endpoint.ts";
import { errorFromResponse, HookdError, StreamEndedError } from "./hookd-error.ts";
import { messageOf, parseEnvelope, type TopicMessage } from "./topic-message.ts";
import { END_EVENT } from "../domain/stream-frames.ts";

/**
 * Reads a topic stream for as long as the caller wants it, across dropped connections and hookd
 * restarts: every reconnect resumes after the last message handed over (Last-Event-ID), so the
 * caller sees each message once, in order, without a gap.
 */

export type ListenOptions = {
  /** The token for the stream's path (/sub/<topic>, or a "/"-ending prefix of it). A token in the URL's user name works too. */
  token?: string | undefined;
  /** Where to start: "now" (the default), a sequence to read after (0: the whole retained log), or a time. */
  since?: number | string | Date | undefined;
  /** Awaited: the next message waits for it, and hookd cuts off a listener that falls too far behind (it then resumes). A throw ends listen with that error. */
  onMessage: (message: TopicMessage) => void | Promise<void>;
  /** Each time a connection is open and live; `lastSeq` is where it resumed (null: not yet resumed from a message). */
  onOpen?: ((info: { lastSeq: number | null }) => void) | undefined;
  /** Each time a connection was lost or refused in a way worth retrying, with the wait before the next try. */
  onError?: ((error: unknown, retry: { attempt: number; delayMs: number }) => void) | undefined;
  /** Aborting it ends listen, which then resolves. */
  signal?: AbortSignal | undefined;
  backoff?: BackoffOptions | undefined;
  /** A connection silent for this long is treated as lost (hookd sends heartbeats every 15 s by default); 0 disables. */
  idleTimeoutMs?: number | undefined;
};

const DEFAULT_IDLE_TIMEOUT_MS = 45_000;

/** Where the next connection starts: after a sequence (sent as Last-Event-ID), or at a `since` value. */
type Position = { after: number } | { since: string };

type Outcome =
  | { kind: "aborted" }
  /** hookd said why it ended the stream (slow consumer, shutting down): come back promptly. */
  | { kind: "ended"; error: StreamEndedError }
  | { kind: "lost"; delivered: number; error: unknown; retryAfterMs: number | null };

class IdleTimeoutError extends Error {
  override readonly name = "IdleTimeoutError";
}

function sinceText(since: number | string | Date): string {
  if (since instanceof Date) return since.toISOString();
  if (typeof since === "number") {
    if (!Number.isSafeInteger(since) || since < 0) {
      throw new RangeError(`since must be a sequence number (an integer >= 0), got ${since}`);
    }
    return String(since);
  }
  return since;
}

/** 408, 429 and 5xx may pass; any other refusal (bad token, bad since, wrong path) would only repeat. */
function retryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/**
 * The time to resume from when a listener that started at "now" loses its connection before any
 * message: hookd's clock (the Date header, to the second, so at worst a second's older messages
 * come too) rather than ours, which may be off. Browsers hide Date on cross-origin responses.
 */
function openedAt(response: Response): string {
  const date = Date.parse(response.headers.get("date") ?? "");
  return new Date(Number.isFinite(date) ? date : Date.now()).toISOString();
}

function endOf(data: string): StreamEndedError {
  let value: { reason?: unknown; last_id?: unknown; detail?: unknown } = {};
  try {
    value = JSON.parse(data) ?? {};
  } catch {
    // an end without a readable body is still an end
  }
  const lastId = typeof value.last_id === "string" && /^\d+$/.test(value.last_id) ? Number(value.last_id) : null;
  return new StreamEndedError(
    String(value.reason ?? "unknown"),
    lastId,
    typeof value.detail === "string" ? value.detail : undefined,
  );
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

function readWithin(reader: ReadableStreamDefaultReader<Uint8Array>, ms: number, connection: AbortController) {
  if (ms <= 0) return reader.read();
  const timer = setTimeout(
    () => connection.abort(new IdleTimeoutError(`no data from hookd for ${ms} ms (not even a heartbeat)`)),
    ms,
  );
  return reader.read().finally(() => clearTimeout(timer));
}

// async: a bad URL or option rejects the promise, as a lost connection does, instead of throwing at the call.
export async function listen(url: string | URL, options: ListenOptions): Promise<void> {
  return await new Listener(url, options).run();
}

/** One listen call's state: the endpoint, where to resume, and the caller's options. */
class Listener {
  readonly #target: ReturnType<typeof endpoint>;
  readonly #backoff: ReturnType<typeof checkBackoff>;
  readonly #idleMs: number;
  #position: Position;

  constructor(url: string | URL, private readonly options: ListenOptions) {
    this.#backoff = checkBackoff(options.backoff);
    this.#idleMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    this.#target = endpoint(url, options.token);
    const since = this.#target.url.searchParams.get("since") ?? "now";
    this.#position = { since: options.since !== undefined ? sinceText(options.since) : since };
    this.#target.url.searchParams.delete("since");
    // The envelope carries the topic, type, content type and time, and survives binary bodies.
    this.#target.url.searchParams.set("format", "json");
  }

  get #signal() {
    return this.options.signal;
  }

  async run(): Promise<void> {
    let attempt = 0;
    while (!this.#signal?.aborted) {
      const outcome = await this.connect();
      if (outcome.kind === "aborted") return;
      let delayMs: number;
      if (outcome.kind === "ended") {
        // hookd is fine and asked us to come back; a little jitter keeps a whole crowd from arriving at once.
        attempt = 0;
        delayMs = backoffDelay(0, this.#backoff);
        this.options.onError?.(outcome.error, { attempt: 0, delayMs });
      } else {
        if (outcome.delivered > 0) attempt = 0;
        delayMs = Math.max(backoffDelay(attempt, this.#backoff), outcome.retryAfterMs ?? 0);
        attempt += 1;
        this.options.onError?.(outcome.error, { attempt, delayMs });
      }
      await sleep(delayMs, this.#signal);
    }
  }

  private async connect(): Promise<Outcome> {
    const connection = new AbortController();
    const stop = () => connection.abort(this.#signal?.reason);
    this.#signal?.addEventListener("abort", stop, { once: true });
    try {
      const opened = await this.open(connection);
      if ("kind" in opened) return opened;
      const position = this.#position;
      if ("since" in position && position.since === "now") this.#position = { since: openedAt(opened) };
      const resumed = this.#position;
      this.options.onOpen?.({ lastSeq: "after" in resumed ? resumed.after : null });
      return await this.read(opened.body!, connection);
    } catch (error) {
      if (this.#signal?.aborted) return { kind: "aborted" };
      throw error;
    } finally {
      this.#signal?.removeEventListener("abort", stop);
      connection.abort();
    }
  }

  /** Opens the event stream from the current position; an outcome instead when it could not be opened. */
  private async open(connection: AbortController): Promise<Response | Outcome> {
    const url = new URL(this.#target.url);
    const headers = new Headers(this.#target.headers);
    headers.set("accept", "text/event-stream");
    const position = this.#position;
    if ("after" in position) headers.set("last-event-id", String(position.after));
    else url.searchParams.set("since", position.since);
    let response: Response;
    try {
      response = await fetch(url, { headers, signal: connection.signal });
    } catch (error) {
      if (this.#signal?.aborted) return { kind: "aborted" };
      return { kind: "lost", delivered: 0, error, retryAfterMs: null };
    }
    if (!response.ok) {
      const error = await errorFromResponse(response);
      if (retryableStatus(response.status)) {
        return { kind: "lost", delivered: 0, error, retryAfterMs: error.retryAfterMs };
      }
      throw error;
    }
    const contentType = response.headers.get("content-type") ?? "";
    if (!response.body || !contentType.toLowerCase().startsWith("text/event-stream")) {
      await response.body?.cancel();
      throw new HookdError(
        response.status,
        null,
        `${url.origin}${url.pathname} answered with ${contentType || "no content type"}, not an event stream; ` +
          "listen needs a hookd /sub/<topic> or /sse/<topic> URL",
      );
    }
    return response;
  }

  private async read(body: ReadableStream<Uint8Array>, connection: AbortController): Promise<Outcome> {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let events: EventSourceMessage[] = [];
    const parser = createParser({ onEvent: (event) => events.push(event) });
    let delivered = 0;
    try {
      for (;;) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await readWithin(reader, this.#idleMs, connection);
        } catch (error) {
          if (this.#signal?.aborted) return { kind: "aborted" };
          const cause = connection.signal.aborted ? connection.signal.reason : error;
          return { kind: "lost", delivered, error: cause, retryAfterMs: null };
        }
        if (chunk.done) {
          return {
            kind: "lost",
            delivered,
            error: new Error("hookd closed the stream without saying why"),
            retryAfterMs: null,
          };
        }
        parser.feed(decoder.decode(chunk.value, { stream: true }));
        const batch = events;
        events = [];
        for (const event of batch) {
          const handed = await this.hand(event);
          if (handed === "skipped") continue;
          if (handed === "aborted") return { kind: "aborted" };
          if (handed instanceof StreamEndedError) return { kind: "ended", error: handed };
          delivered += 1;
        }
      }
    } finally {
      reader.cancel().catch(() => {});
    }
  }

  /** Hands one event to the caller ("delivered"), skips a repeat ("skipped"), or says why reading stops. */
  private async hand(event: EventSourceMessage): Promise<"delivered" | "skipped" | "aborted" | StreamEndedError> {
    if (event.event === END_EVENT) {
      const end = endOf(event.data);
      const position = this.#position;
      if (end.lastId !== null && !("after" in position && position.after >= end.lastId)) {
        this.#position = { after: end.lastId };
      }
      return end;
    }
    const envelope = parseEnvelope(event.data);
    const position = this.#position;
    if ("after" in position && envelope.seq <= position.after) return "skipped";
    await this.options.onMessage(messageOf(envelope));
    this.#position = { after: envelope.seq };
    return this.#signal?.aborted ? "aborted" : "delivered";
  }
}
