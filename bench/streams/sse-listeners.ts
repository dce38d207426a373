import { createParser, type EventSourceMessage } from "eventsource-parser";
import { type ClientRequest, type IncomingMessage, request } from "node:http";
import { performance } from "node:perf_hooks";

/**
 * A child process of bench/streams.ts (forked by listener-child.ts) holding a share of the SSE
 * listeners: real HTTP clients (node:http, no keep-alive agent, one socket each), parsed with
 * eventsource-parser. It is driven over the IPC channel and keeps only counters and a latency
 * histogram, so the parent can merge millions of (listener, message) pairs cheaply. It exits when
 * the parent goes away.
 *
 * Messages are `<phase>|<n>|<send time ms>` (the publisher's performance.timeOrigin + now).
 */

export type ToListeners =
  | { type: "open"; url: string; authorization: string; count: number; concurrency: number }
  | { type: "ping"; t: number }
  | { type: "phase"; phase: number; maxMessages: number; offsetMs: number }
  | { type: "progress"; published: number }
  | { type: "report"; published: number }
  | { type: "close" };

export type ListenerReport = {
  type: "report";
  listeners: number;
  alive: number;
  /** Listeners that got every one of `published` messages of the phase. */
  complete: number;
  /** Sum over listeners of messages of the phase they did not get. */
  missed: number;
  /** The most distinct messages of the phase any one listener got (more than `published` means some publish answered as failed was stored after all). */
  distinctMax: number;
  received: number;
  duplicates: number;
  /** Frames of an earlier phase that arrived during this one. */
  late: number;
  /** Sparse histogram: [bucket, count] pairs (see bucketOf). */
  histogram: [number, number][];
  negative: number;
  firstArrival: number;
  lastArrival: number;
  /** Since the phase began, like closedUnexpectedly. */
  cutOff: number;
  cutReasons: Record<string, number>;
  closedUnexpectedly: number;
  cpuMs: number;
  eventLoopUtilization: number;
};

export type FromListeners =
  | { type: "opened"; ok: number; failed: number; errors: string[]; ms: number }
  | { type: "pong"; t: number; now: number }
  | { type: "progress"; complete: number; alive: number; received: number; lastArrival: number }
  | ListenerReport;

/** 0.1 ms buckets up to 1 s, then 1 ms buckets up to 60 s. */
export const BUCKETS = 10_000 + 59_000 + 1;
export function bucketOf(ms: number): number {
  if (ms < 1_000) return Math.max(0, Math.floor(ms * 10));
  return Math.min(BUCKETS - 1, 10_000 + Math.floor(ms - 1_000));
}
export function msOfBucket(bucket: number): number {
  return bucket < 10_000 ? bucket / 10 : 1_000 + (bucket - 10_000);
}

type Listener = {
  request: ClientRequest;
  response?: IncomingMessage;
  alive: boolean;
  distinct: number;
  seen: Uint8Array;
};

if (process.send) {
  const send = (message: FromListeners) => process.send!(message);
  const listeners: Listener[] = [];
  let closing = false;
  let phase = -1;
  let offsetMs = 0;
  let maxMessages = 0;
  let histogram = new Uint32Array(BUCKETS);
  let received = 0;
  let duplicates = 0;
  let late = 0;
  let negative = 0;
  let firstArrival = 0;
  let lastArrival = 0;
  let cutOff = 0;
  const cutReasons: Record<string, number> = {};
  let closedUnexpectedly = 0;
  let cpuAtPhase = process.cpuUsage();
  let eluAtPhase = performance.eventLoopUtilization();

  const onMessage = (listener: Listener, event: EventSourceMessage) => {
    if (event.event === "hookd.disconnect") {
      cutOff++;
      let reason = "unknown";
      try {
        reason = (JSON.parse(event.data) as { reason?: string }).reason ?? reason;
      } catch {
        // keep "unknown"
      }
      cutReasons[reason] = (cutReasons[reason] ?? 0) + 1;
      return;
    }
    const now = performance.timeOrigin + performance.now() - offsetMs;
    const data = event.data;
    const a = data.indexOf("|");
    const b = data.indexOf("|", a + 1);
    const messagePhase = Number(data.slice(0, a));
    if (messagePhase !== phase) {
      late++;
      return;
    }
    const n = Number(data.slice(a + 1, b));
    if (n >= listener.seen.length) return;
    if (listener.seen[n]) {
      duplicates++;
      return;
    }
    listener.seen[n] = 1;
    listener.distinct++;
    received++;
    const latency = now - Number(data.slice(b + 1));
    if (latency < 0) negative++;
    histogram[bucketOf(latency)]!++;
    if (!firstArrival) firstArrival = now;
    lastArrival = now;
  };

  const openOne = (url: URL, authorization: string): Promise<string | null> =>
    new Promise((resolve) => {
      const listener: Listener = {
        request: undefined as never,
        alive: false,
        distinct: 0,
        seen: new Uint8Array(maxMessages),
      };
      const parser = createParser({ onEvent: (event) => onMessage(listener, event) });
      const gone = () => {
        if (!listener.alive) return;
        listener.alive = false;
        if (!closing) closedUnexpectedly++;
      };
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname + url.search,
          method: "GET",
          agent: false,
          headers: { authorization, accept: "text/event-stream" },
        },
        (response) => {
          listener.response = response;
          if (response.statusCode !== 200) {
            let body = "";
            response.setEncoding("utf8");
            response.on("data", (chunk: string) => (body += chunk));
            response.on("end", () => resolve(`HTTP ${response.statusCode}: ${body.slice(0, 200)}`));
            return;
          }
          listener.alive = true;
          listeners.push(listener);
          response.setEncoding("utf8");
          response.on("data", (chunk: string) => parser.feed(chunk));
          response.on("end", gone);
          response.on("close", gone);
          response.on("error", gone);
          resolve(null);
        },
      );
      listener.request = req;
      req.on("error", (error) => {
        gone();
        resolve(error.message);
      });
      req.end();
    });

  process.on("message", async (message: ToListeners) => {
    switch (message.type) {
      case "open": {
        const started = performance.now();
        const url = new URL(message.url);
        let next = 0;
        let ok = 0;
        let failed = 0;
        const errors: string[] = [];
        await Promise.all(
          Array.from({ length: Math.min(message.concurrency, message.count) }, async () => {
            while (next < message.count) {
              next++;
              const error = await openOne(url, message.authorization);
              if (error === null) ok++;
              else {
                failed++;
                if (errors.length < 5) errors.push(error);
              }
            }
          }),
        );
        send({ type: "opened", ok, failed, errors, ms: performance.now() - started });
        break;
      }
      case "ping":
        send({ type: "pong", t: message.t, now: performance.timeOrigin + performance.now() });
        break;
      case "phase":
        phase = message.phase;
        offsetMs = message.offsetMs;
        maxMessages = message.maxMessages;
        for (const listener of listeners) {
          listener.seen = new Uint8Array(maxMessages);
          listener.distinct = 0;
        }
        histogram = new Uint32Array(BUCKETS);
        received =
          duplicates =
          late =
          negative =
          firstArrival =
          lastArrival =
            0;
        cutOff = closedUnexpectedly = 0;
        for (const reason of Object.keys(cutReasons)) delete cutReasons[reason];
        cpuAtPhase = process.cpuUsage();
        eluAtPhase = performance.eventLoopUtilization();
        break;
      case "progress": {
        let complete = 0;
        let alive = 0;
        for (const listener of listeners) {
          if (listener.distinct >= message.published) complete++;
          if (listener.alive) alive++;
        }
        send({ type: "progress", complete, alive, received, lastArrival });
        break;
      }
      case "report": {
        let complete = 0;
        let alive = 0;
        let missed = 0;
        let distinctMax = 0;
        for (const listener of listeners) {
          distinctMax = Math.max(distinctMax, listener.distinct);
          if (listener.distinct >= message.published) complete++;
          else missed += message.published - listener.distinct;
          if (listener.alive) alive++;
        }
        const sparse: [number, number][] = [];
        for (let i = 0; i < histogram.length; i++) if (histogram[i]) sparse.push([i, histogram[i]!]);
        const cpu = process.cpuUsage(cpuAtPhase);
        send({
          type: "report",
          listeners: listeners.length,
          alive,
          complete,
          missed,
          distinctMax,
          received,
          duplicates,
          late,
          histogram: sparse,
          negative,
          firstArrival,
          lastArrival,
          cutOff,
          cutReasons: { ...cutReasons },
          closedUnexpectedly,
          cpuMs: (cpu.user + cpu.system) / 1000,
          eventLoopUtilization: performance.eventLoopUtilization(eluAtPhase).utilization,
        });
        break;
      }
      case "close":
        closing = true;
        for (const listener of listeners) listener.request.destroy();
        setTimeout(() => process.exit(0), 50);
        break;
    }
  });
  // The parent is gone (it exited, or was killed): so is this.
  process.on("disconnect", () => process.exit(0));
  process.on("SIGINT", () => undefined);
}
