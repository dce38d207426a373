import { EventSource } from "eventsource";
import WebSocket from "ws";

/** Real stream clients for tests: the eventsource package (what Node apps use) and the ws package. */

export type SseEvent = { id: string; type: string; data: string };

export type SseClient = {
  events: SseEvent[];
  source: EventSource;
  opened: Promise<void>;
  waitFor(count: number, timeoutMs?: number): Promise<SseEvent[]>;
  close(): void;
};

async function until(check: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** An EventSource that sends the token (and a Last-Event-ID, when given) and records every event by name. */
export function openSse(
  url: string,
  token: string,
  options: { lastEventId?: string; names?: string[] } = {},
): SseClient {
  const events: SseEvent[] = [];
  const source = new EventSource(url, {
    fetch: (input, init) => {
      const headers: Record<string, string> = {
        ...(init?.headers as Record<string, string>),
        authorization: `Bearer ${token}`,
      };
      // Only the first connection uses the given id; the EventSource sends its own on reconnects.
      if (options.lastEventId && !headers["Last-Event-ID"] && !headers["last-event-id"]) {
        headers["last-event-id"] = options.lastEventId;
      }
      return fetch(input, { ...init, headers });
    },
  });
  const record = (event: MessageEvent) =>
    events.push({ id: event.lastEventId, type: event.type, data: String(event.data) });
  source.addEventListener("message", record);
  for (const name of options.names ?? []) source.addEventListener(name, record);
  const opened = new Promise<void>((resolve, reject) => {
    source.addEventListener("open", () => resolve(), { once: true });
    source.addEventListener(
      "error",
      (error) => reject(new Error(`SSE error before open: ${(error as { message?: string }).message}`)),
      { once: true },
    );
  });
  return {
    events,
    source,
    opened,
    async waitFor(count, timeoutMs = 10_000) {
      await until(
        () => events.length >= count,
        timeoutMs,
        () => `${events.length} of ${count} SSE events: ${JSON.stringify(events)}`,
      );
      return events;
    },
    close: () => source.close(),
  };
}

export type WsClient = {
  frames: { data: Buffer; binary: boolean }[];
  socket: WebSocket;
  closed: Promise<{ code: number; reason: string }>;
  waitFor(count: number, timeoutMs?: number): Promise<{ data: Buffer; binary: boolean }[]>;
  close(): void;
};

export async function openWs(
  url: string,
  headers: Record<string, string>,
  options: { autoPong?: boolean } = {},
): Promise<WsClient> {
  const frames: { data: Buffer; binary: boolean }[] = [];
  const socket = new WebSocket(url.replace(/^http/, "ws"), { headers, autoPong: options.autoPong ?? true });
  socket.on("message", (data, binary) => frames.push({ data: Buffer.from(data as Buffer), binary }));
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.on("close", (code, reason) => resolve({ code, reason: reason.toString() }))
  );
  await new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve());
    socket.once(
      "unexpected-response",
      (_request, response) => reject(new Error(`upgrade refused: ${response.statusCode}`)),
    );
    socket.once("error", reject);
  });
  return {
    frames,
    socket,
    closed,
    async waitFor(count, timeoutMs = 10_000) {
      await until(() => frames.length >= count, timeoutMs, () => `${frames.length} of ${count} WebSocket frames`);
      return frames;
    },
    close: () => socket.close(),
  };
}

/** The status an upgrade request is refused with (or 101 when it is accepted). */
export function upgradeStatus(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url.replace(/^http/, "ws"), { headers });
    socket.once("open", () => {
      socket.close();
      resolve(101);
    });
    socket.once("unexpected-response", (_request, response) => {
      resolve(response.statusCode ?? 0);
      response.resume();
      socket.terminate();
    });
    socket.once("error", reject);
  });
}
