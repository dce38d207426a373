import type { Context, Hono, MiddlewareHandler } from "hono";
import type { UpgradeWebSocket } from "hono/ws";
import { utf8 } from "../domain/bytes.ts";
import {
  jsonEndLine,
  jsonLine,
  SSE_HEARTBEAT,
  sseEndFrame,
  sseFrame,
  ssePosition,
  webSocketCloseReason,
  webSocketFrame,
  WS_CLOSE,
  type StreamFormat,
} from "../domain/stream-frames.ts";
import { parseStreamStart, StreamStartError, type StreamStart } from "../domain/stream-start.ts";
import { parseTopic, TopicNameError, topicFilter, type TopicNamespace, type TopicPattern } from "../domain/topic-name.ts";
import type { PublishedEvent } from "../nats/topic-log.ts";
import { TooManyStreamsError, type TopicStreams } from "../runtime/topic-streams.ts";
import type { TopicListener } from "../runtime/topic-listener.ts";
import { requestToken } from "./auth.ts";
import { badRequest, ProblemError } from "./problem.ts";
import { byteStreamSink, cachedFrame, lateSink, nativeStreamSink, webSocketSink, type NativeStream } from "./stream-sinks.ts";

/**
 * Streams out: a listener that cannot open a port reads a topic over SSE (GET /sub/<topic> with
 * Accept: text/event-stream, or GET /sse/<topic>), a WebSocket (GET /sub/<topic> upgraded;
 * Hookbot's frames), or Hookah's chunked JSON lines (GET /stream?topic=). Each message's id is its
 * topic-log sequence, and Last-Event-ID or ?since= resumes without a gap.
 */

export type StreamRouteDeps = {
  streams: TopicStreams;
  clock: () => number;
  bufferBytes: number;
  upgradeWebSocket?: UpgradeWebSocket | undefined;
  /** Starts a response the runtime writes directly (Node), or null to use a web stream. */
  openNativeStream?: ((c: Context, headers: Record<string, string>) => NativeStream | null) | undefined;
};

type Target = { pattern: TopicPattern; namespace: TopicNamespace };

/** How long a WebSocket upgrade may take before the listener opened for it is given up. */
const UPGRADE_TIMEOUT_MS = 10_000;

function topicFromPath(raw: string): TopicPattern {
  let text: string;
  try {
    text = raw.split("/").map(decodeURIComponent).join("/");
  } catch {
    throw badRequest("The topic in the path is not valid percent-encoding.", { field: "topic" });
  }
  return patternOr400(text, "topic");
}

function patternOr400(text: string, field: string): TopicPattern {
  try {
    return parseTopic(text, { allowRecursive: true });
  } catch (error) {
    if (!(error instanceof TopicNameError)) throw error;
    throw badRequest(`"${field}" is not a valid topic: ${error.message}. Topics are "/"-separated paths; end one in "/" to read every topic below it.`, {
      field,
    });
  }
}

function startOf(c: Context, now: number): StreamStart {
  try {
    return parseStreamStart({ lastEventId: c.req.header("last-event-id"), since: c.req.query("since") }, now);
  } catch (error) {
    if (!(error instanceof StreamStartError)) throw error;
    throw badRequest(error.message, { field: c.req.header("last-event-id") ? "Last-Event-ID" : "since" });
  }
}

function formatOf(c: Context, pattern: TopicPattern): StreamFormat {
  const format = c.req.query("format");
  if (format === undefined || format === "") return pattern.recursive ? "json" : "raw";
  if (format === "raw" || format === "json") return format;
  throw badRequest(`format must be "raw" (the body as the data) or "json" (an envelope with seq, topic, type and body); got "${format}".`, { field: "format" });
}

function tooMany(error: TooManyStreamsError): ProblemError {
  return new ProblemError({
    status: 429,
    kind: "too-many-streams",
    title: "Too many open streams for this token",
    detail: `${error.message} Close one, or ask the operator to raise the limit.`,
    extra: { limit: error.limit },
    headers: { "retry-after": "5" },
  });
}

async function openListener(deps: StreamRouteDeps, c: Context, target: Target, start: StreamStart, sink: Parameters<TopicStreams["open"]>[1]) {
  try {
    return await deps.streams.open({ filter: topicFilter(target.pattern, target.namespace), start, token: requestToken(c) ?? "" }, sink);
  } catch (error) {
    if (error instanceof TooManyStreamsError) throw tooMany(error);
    throw error;
  }
}

async function byteStream(
  deps: StreamRouteDeps,
  c: Context,
  target: Target,
  kind: {
    format: string;
    contentType: string;
    head: string;
    encode: (event: PublishedEvent) => Uint8Array;
    endFrame: typeof sseEndFrame;
    heartbeat: string;
    /** Written once the start is known (SSE: the starting id). */
    position?: (seq: number) => string;
  },
): Promise<Response> {
  const start = startOf(c, deps.clock());
  const headers = { "content-type": kind.contentType, "cache-control": "no-cache", "x-accel-buffering": "no" };
  // HEAD gets the GET's headers; a stream opened for it would never be read or cancelled.
  if (c.req.method === "HEAD") return new Response(null, { status: 200, headers });
  const late = lateSink();
  const listener = await openListener(deps, c, target, start, late.sink);
  const opening = kind.head + (kind.position ? kind.position(listener.lastSeq) : "");
  const native = deps.openNativeStream?.(c, headers);
  if (native) {
    // The opening goes first: binding may write an end frame at once (the listener was ended while it attached).
    native.write(utf8(opening));
    late.bind(nativeStreamSink(native, kind));
    native.onClose(() => listener.close());
    if (native.isClosed()) listener.close();
    void listener.catchUp();
    return native.response;
  }
  const stream = byteStreamSink({
    format: kind.format,
    head: opening,
    encode: kind.encode,
    endFrame: kind.endFrame,
    heartbeat: kind.heartbeat,
    limitBytes: deps.bufferBytes,
  });
  late.bind(stream.sink);
  stream.onCancel(() => listener.close());
  void listener.catchUp();
  return new Response(stream.body, { status: 200, headers });
}

function sse(deps: StreamRouteDeps, c: Context, target: Target): Promise<Response> {
  const format = formatOf(c, target.pattern);
  return byteStream(deps, c, target, {
    format: `sse:${format}`,
    contentType: "text/event-stream; charset=utf-8",
    // A short retry: a listener that hookd cut off comes back quickly and resumes.
    head: "retry: 1000\n: hookd topic stream\n\n",
    encode: (event) => cachedFrame(event, `sse:${format}`, () => utf8(sseFrame(event, format))),
    endFrame: sseEndFrame,
    heartbeat: SSE_HEARTBEAT,
    position: ssePosition,
  });
}

function jsonLines(deps: StreamRouteDeps, c: Context, target: Target): Promise<Response> {
  return byteStream(deps, c, target, {
    format: "jsonl",
    contentType: "application/x-ndjson; charset=utf-8",
    head: "",
    encode: (event) => cachedFrame(event, "jsonl", () => utf8(jsonLine(event))),
    endFrame: jsonEndLine,
    // An empty line: readers of JSON lines skip it, and it keeps proxies from closing an idle stream.
    heartbeat: "\n",
  });
}

async function webSocket(deps: StreamRouteDeps, c: Context, target: Target): Promise<Response> {
  const upgrade = deps.upgradeWebSocket;
  if (!upgrade) {
    throw new ProblemError({ status: 501, kind: "websocket-unsupported", title: "WebSockets are not served here", detail: "This runtime adapter serves no WebSockets; use SSE (Accept: text/event-stream) instead." });
  }
  const start = startOf(c, deps.clock());
  if (c.req.method === "HEAD") throw badRequest("A WebSocket upgrade must be a GET.");
  const json = c.req.query("format") === "json";
  if (!json) formatOf(c, target.pattern);
  const recursive = target.pattern.recursive;
  const socket = webSocketSink({
    encode: (event) => (json ? cachedFrame(event, "ws:json", () => jsonLine(event).slice(0, -1)) : cachedFrame(event, `ws:${recursive}`, () => webSocketFrame(event, recursive))),
    closeWith: (end) => ({ code: WS_CLOSE[end.reason], reason: webSocketCloseReason(end) }),
  });
  // Opened before the upgrade, so a refusal (429, 503) is still an HTTP answer.
  const listener: TopicListener = await openListener(deps, c, target, start, socket.sink);
  const abandoned = setTimeout(() => listener.close(), UPGRADE_TIMEOUT_MS);
  let response: Response | undefined;
  try {
    response = await upgrade(c, {
      onOpen(_event, ws) {
        clearTimeout(abandoned);
        socket.attach(ws);
        // Given up on while the upgrade was slow: nothing will be sent, so don't leave the socket open and silent.
        if (listener.closed) ws.close(WS_CLOSE.interrupted, "stream closed before the upgrade completed; reconnect");
        else void listener.catchUp();
      },
      onClose() {
        clearTimeout(abandoned);
        listener.close();
      },
      onError() {
        listener.close();
      },
    });
  } catch {
    // Deno's upgrade refuses what Node's takes (e.g. "Upgrade: WebSocket" in another case).
  }
  if (response) return response;
  clearTimeout(abandoned);
  listener.close();
  throw badRequest('The WebSocket upgrade failed; send "Connection: Upgrade" and "Upgrade: websocket" with a WebSocket key and version 13.');
}

// The raw (still percent-encoded) path: Hono's c.req.path may already be decoded.
const pathAfter = (c: Context, prefix: string) => new URL(c.req.url).pathname.slice(prefix.length);

function isUpgrade(c: Context): boolean {
  return c.req.header("upgrade")?.toLowerCase() === "websocket";
}

function wants(c: Context, type: string): boolean {
  return (c.req.header("accept") ?? "").toLowerCase().includes(type);
}

function subscribe(deps: StreamRouteDeps, c: Context, target: Target): Promise<Response> {
  if (isUpgrade(c)) return webSocket(deps, c, target);
  if (wants(c, "text/event-stream")) return sse(deps, c, target);
  if (wants(c, "application/x-ndjson")) return jsonLines(deps, c, target);
  throw new ProblemError({
    status: 406,
    kind: "stream-kind-unknown",
    title: "Say how to stream this topic",
    detail: "GET /sub/<topic> streams as a WebSocket (an Upgrade request), as Server-Sent Events (Accept: text/event-stream) or as JSON lines (Accept: application/x-ndjson). GET /sse/<topic> and GET /stream?topic= need no Accept header.",
  });
}

export const UNSAFE_HEADER = "X-Hookbot-Unsafe-Is-Ok";
export const UNSAFE_HEADER_VALUE = "I understand the security implications";

export function mountStreamRoutes(app: Hono, deps: StreamRouteDeps): void {
  app.get("/status", (c) => c.text("OK"));

  app.get("/sub/*", (c) => subscribe(deps, c, { pattern: topicFromPath(pathAfter(c, "/sub/")), namespace: "safe" }));
  app.get("/sse/*", (c) => sse(deps, c, { pattern: topicFromPath(pathAfter(c, "/sse/")), namespace: "safe" }));
  app.get("/unsafe/sub/*", (c) => subscribe(deps, c, { pattern: topicFromPath(pathAfter(c, "/unsafe/sub/")), namespace: "unsafe" }));
  app.get("/stream", (c) => {
    const topic = c.req.query("topic");
    if (!topic) throw badRequest("topic is required: GET /stream?topic=<topic> (end it in / for every topic below it).", { field: "topic" });
    return jsonLines(deps, c, { pattern: patternOr400(topic, "topic"), namespace: "safe" });
  });
}

/** Hookbot's consent header for /unsafe/sub/; hookd asks for a token as well (Hookbot does not). */
export const requireUnsafeConsent: MiddlewareHandler = async (c, next) => {
  if (c.req.header(UNSAFE_HEADER) === UNSAFE_HEADER_VALUE) return next();
  throw badRequest(
    `Reading /unsafe/ topics needs the header "${UNSAFE_HEADER}: ${UNSAFE_HEADER_VALUE}" (anyone may publish to them without a token), and a token for the path.`,
    { field: UNSAFE_HEADER, expected: UNSAFE_HEADER_VALUE },
  );
};
