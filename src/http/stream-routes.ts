import type { Context, MiddlewareHandler } from "hono";
import type { UpgradeWebSocket } from "hono/ws";
import { utf8 } from "../domain/bytes.ts";
import {
  jsonEndLine,
  jsonLine,
  SSE_HEARTBEAT,
  sseEndFrame,
  sseFrame,
  ssePosition,
  type StreamFormat,
  webSocketCloseReason,
  webSocketFrame,
  WS_CLOSE,
} from "../domain/stream-frames.ts";
import { parseStreamStart, type StreamStart, StreamStartError } from "../domain/stream-start.ts";
import type { TopicNamespace, TopicPattern } from "../domain/topic-name.ts";
import type { PublishedEvent } from "../nats/topic-log.ts";
import { TooManyStreamsError } from "../runtime/token-slots.ts";
import type { TopicStreams } from "../runtime/topic-streams.ts";
import type { TopicListener } from "../runtime/topic-listener.ts";
import { type ApiApp, defineRoute } from "./api-docs.ts";
import { requestToken } from "./auth.ts";
import { watchConnection } from "./connection-watch.ts";
import { badRequest, ProblemError } from "./problem.ts";
import { sseRoute, statusRoute, streamRoute, subscribeRoute } from "./stream-docs.ts";
import { topicInPath, topicOr400 } from "./topic-params.ts";
import {
  byteSink,
  cachedFrame,
  lateSink,
  type NativeStream,
  webSocketSink,
  webStreamTransport,
} from "./stream-sinks.ts";

/**
 * Streams out: a listener that cannot open a port reads a topic over SSE (GET /sub/<topic> with
 * Accept: text/event-stream, or GET /sse/<topic>), a WebSocket (GET /sub/<topic> upgraded;
 * Hookbot's frames), or Hookah's chunked JSON lines (GET /stream?topic=). Each message's id is its
 * topic-log sequence, and Last-Event-ID or ?since= resumes without a gap.
 */

export type StreamRouteDeps = {
  streams: TopicStreams;
  clock: () => number;
  upgradeWebSocket?: UpgradeWebSocket | undefined;
  /** Starts a response the runtime writes directly (Node), or null to use a web stream. */
  openNativeStream?: ((c: Context, headers: Record<string, string>) => NativeStream | null) | undefined;
};

type Target = { pattern: TopicPattern; namespace: TopicNamespace };

/** How long a WebSocket upgrade may take before the listener opened for it is given up. */
const UPGRADE_TIMEOUT_MS = 10_000;

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
  throw badRequest(
    `format must be "raw" (the body as the data) or "json" (an envelope with seq, topic, type and body); got "${format}".`,
    { field: "format" },
  );
}

export function tooManyStreams(error: TooManyStreamsError): ProblemError {
  return new ProblemError({
    status: 429,
    kind: "too-many-streams",
    title: "Too many open streams for this token",
    detail: `${error.message} Close one, or ask the operator to raise the limit.`,
    extra: { limit: error.limit },
    headers: { "retry-after": "5" },
  });
}

async function openListener(
  deps: StreamRouteDeps,
  c: Context,
  target: Target,
  start: StreamStart,
  sink: Parameters<TopicStreams["open"]>[1],
) {
  try {
    // Tied to the connection, so a client that goes before the stream is under way frees its slot too.
    return await deps.streams.open({ ...target, start, token: requestToken(c) ?? "" }, sink, watchConnection(c));
  } catch (error) {
    if (error instanceof TooManyStreamsError) throw tooManyStreams(error);
    throw error;
  }
}

async function byteStream(
  deps: StreamRouteDeps,
  c: Context,
  target: Target,
  kind: {
    /** Names the encoding: frames and batches are encoded once per event and per format, for every listener. */
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
  const native = deps.openNativeStream?.(c, headers) ?? null;
  const web = native ? null : webStreamTransport(deps.streams.bufferBytes);
  const transport = native ?? web!.transport;
  // The opening goes first: binding may write an end frame at once (the listener was ended while it attached).
  transport.write(utf8(opening));
  late.bind(byteSink(transport, kind));
  transport.onClose(() => listener.close());
  if (transport.isClosed()) listener.close();
  void listener.catchUp();
  return native ? native.response : new Response(web!.body, { status: 200, headers });
}

function sse(deps: StreamRouteDeps, c: Context, target: Target): Promise<Response> {
  const format = formatOf(c, target.pattern);
  return byteStream(deps, c, target, {
    format: `sse:${format}`,
    contentType: "text/event-stream; charset=utf-8",
    // A short retry: a listener that hookd cut off comes back quickly and resumes.
    head: "retry: 1000\n: hookd topic stream\n\n",
    encode: (event) => utf8(sseFrame(event, format)),
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
    encode: (event) => utf8(jsonLine(event)),
    endFrame: jsonEndLine,
    // An empty line: readers of JSON lines skip it, and it keeps proxies from closing an idle stream.
    heartbeat: "\n",
  });
}

async function webSocket(deps: StreamRouteDeps, c: Context, target: Target): Promise<Response> {
  const upgrade = deps.upgradeWebSocket;
  if (!upgrade) {
    throw new ProblemError({
      status: 501,
      kind: "websocket-unsupported",
      title: "WebSockets are not served here",
      detail: "This runtime adapter serves no WebSockets; use SSE (Accept: text/event-stream) instead.",
    });
  }
  const start = startOf(c, deps.clock());
  if (c.req.method === "HEAD") throw badRequest("A WebSocket upgrade must be a GET.");
  // A request without it never reaches Node's upgrade, whose helper would answer a bare 500; the rest of a bad
  // handshake (its key, its version) is answered by the runtime's WebSocket server, naming what is wrong.
  if (!connectionUpgrades(c)) throw badRequest(HANDSHAKE_NEEDED);
  const json = c.req.query("format") === "json";
  if (!json) formatOf(c, target.pattern);
  const recursive = target.pattern.recursive;
  const encode = (event: PublishedEvent) =>
    json
      ? cachedFrame(event, "ws:json", () => jsonLine(event).slice(0, -1))
      : cachedFrame(event, `ws:${recursive}`, () => webSocketFrame(event, recursive));
  // Opened before the upgrade, so a refusal (429, 503) is still an HTTP answer; the socket is bound when it opens.
  const late = lateSink();
  const listener: TopicListener = await openListener(deps, c, target, start, late.sink);
  const abandoned = setTimeout(() => listener.close(), UPGRADE_TIMEOUT_MS);
  let response: Response | undefined;
  try {
    response = await upgrade(c, {
      onOpen(_event, ws) {
        clearTimeout(abandoned);
        late.bind(
          webSocketSink(ws, {
            encode,
            closeWith: (end) => ({ code: WS_CLOSE[end.reason], reason: webSocketCloseReason(end) }),
          }),
        );
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
  throw badRequest(HANDSHAKE_NEEDED);
}

const HANDSHAKE_NEEDED =
  'The WebSocket upgrade failed; send "Connection: Upgrade" and "Upgrade: websocket" with a WebSocket key and version 13.';

function isUpgrade(c: Context): boolean {
  return c.req.header("upgrade")?.toLowerCase() === "websocket";
}

function connectionUpgrades(c: Context): boolean {
  return (c.req.header("connection") ?? "").toLowerCase().split(",").some((token) => token.trim() === "upgrade");
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
    detail:
      "GET /sub/<topic> streams as a WebSocket (an Upgrade request), as Server-Sent Events (Accept: text/event-stream) or as JSON lines (Accept: application/x-ndjson). GET /sse/<topic> and GET /stream?topic= need no Accept header.",
  });
}

export const UNSAFE_HEADER = "X-Hookbot-Unsafe-Is-Ok";
export const UNSAFE_HEADER_VALUE = "I understand the security implications";

export function mountStreamRoutes(app: ApiApp, deps: StreamRouteDeps): void {
  defineRoute(app, statusRoute, (c) => c.text("OK"));

  for (const prefix of ["/sub/", "/unsafe/sub/"] as const) app.openAPIRegistry.registerPath(subscribeRoute(prefix));
  app.openAPIRegistry.registerPath(sseRoute);
  app.get(
    "/sub/*",
    (c) => subscribe(deps, c, { pattern: topicInPath(c, "/sub/", { recursive: true }), namespace: "safe" }),
  );
  app.get("/sse/*", (c) => sse(deps, c, { pattern: topicInPath(c, "/sse/", { recursive: true }), namespace: "safe" }));
  app.get(
    "/unsafe/sub/*",
    (c) => subscribe(deps, c, { pattern: topicInPath(c, "/unsafe/sub/", { recursive: true }), namespace: "unsafe" }),
  );
  defineRoute(app, streamRoute, (c) => {
    const topic = c.req.query("topic");
    if (!topic) {
      throw badRequest("topic is required: GET /stream?topic=<topic> (end it in / for every topic below it).", {
        field: "topic",
      });
    }
    return jsonLines(deps, c, { pattern: topicOr400(topic, "topic", { recursive: true }), namespace: "safe" });
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
