import type { WSContext } from "hono/ws";
import { utf8 } from "../domain/bytes.ts";
import type { StreamEnd } from "../domain/stream-frames.ts";
import type { PublishedEvent } from "../nats/topic-log.ts";
import type { StreamSink } from "../runtime/topic-listener.ts";

/**
 * The transports' ends of a topic stream: a byte stream (SSE, /stream's JSON lines) or a
 * WebSocket. Both count what is queued for the client so the listener can bound it.
 */

// Every listener of a feed gets the same event objects (and the same batch array), so each encoding is made once.
const frames = new WeakMap<PublishedEvent, Map<string, Uint8Array | string>>();
const batches = new WeakMap<readonly PublishedEvent[], Map<string, Uint8Array>>();

/** The frames of several messages as one chunk, made once per batch and transport. */
function batchChunk(events: readonly PublishedEvent[], key: string, encode: (event: PublishedEvent) => Uint8Array): Uint8Array {
  if (events.length === 1) return encode(events[0]!);
  let byKey = batches.get(events);
  if (!byKey) batches.set(events, (byKey = new Map()));
  let chunk = byKey.get(key);
  if (!chunk) {
    const parts = events.map(encode);
    chunk = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
    let offset = 0;
    for (const part of parts) {
      chunk.set(part, offset);
      offset += part.length;
    }
    byKey.set(key, chunk);
  }
  return chunk;
}

export function cachedFrame<T extends Uint8Array | string>(event: PublishedEvent, key: string, make: () => T): T {
  let byKey = frames.get(event);
  if (!byKey) frames.set(event, (byKey = new Map()));
  let frame = byKey.get(key) as T | undefined;
  if (frame === undefined) byKey.set(key, (frame = make()));
  return frame;
}

/** Polls `buffered` until it is at most `bytes`; false when `timeoutMs` passes first. */
async function waitUntilDrained(buffered: () => number, isClosed: () => boolean, bytes: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (buffered() > bytes) {
    if (isClosed() || Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

/** How long a stream that hookd ends may take to hand over its last frame before the connection is dropped. */
const END_GRACE_MS = 5_000;

export type ByteStreamSink = {
  sink: StreamSink;
  body: ReadableStream<Uint8Array>;
  onCancel(callback: () => void): void;
};

export function byteStreamSink(options: {
  /** Names the encoding, so listeners with the same one share a batch's chunk. */
  format: string;
  head: string;
  encode: (event: PublishedEvent) => Uint8Array;
  endFrame: (end: StreamEnd) => string;
  heartbeat: string;
  limitBytes: number;
}): ByteStreamSink {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let closed = false;
  let cancelled: () => void = () => undefined;
  // The queue is counted in bytes; desiredSize falls below the high-water mark as bytes wait unread.
  const highWaterMark = options.limitBytes;
  const body = new ReadableStream<Uint8Array>(
    {
      start(c) {
        controller = c;
        c.enqueue(utf8(options.head));
      },
      cancel() {
        closed = true;
        cancelled();
      },
    },
    { highWaterMark, size: (chunk) => chunk.byteLength },
  );
  const buffered = () => (closed ? 0 : Math.max(0, highWaterMark - (controller.desiredSize ?? highWaterMark)));
  const enqueue = (chunk: Uint8Array) => {
    if (closed) return;
    try {
      controller.enqueue(chunk);
    } catch {
      closed = true;
    }
  };
  const heartbeat = utf8(options.heartbeat);
  const sink: StreamSink = {
    send: (events) => enqueue(batchChunk(events, options.format, options.encode)),
    buffered,
    drained: (bytes, timeoutMs) => waitUntilDrained(buffered, () => closed, bytes, timeoutMs),
    heartbeat: () => enqueue(heartbeat),
    end(end) {
      enqueue(utf8(options.endFrame(end)));
      void waitUntilDrained(buffered, () => closed, 0, END_GRACE_MS).then((drained) => {
        if (closed) return;
        closed = true;
        // A client that stopped reading would hold the connection (and its queue) forever: drop it instead.
        if (drained) controller.close();
        // Frees the queue; the runtime closes the connection when it next reads the stream.
        else controller.error(new Error(`stream ended (${end.reason}) and the client did not read its last frame`));
      });
    },
  };
  return { sink, body, onCancel: (callback) => (cancelled = callback) };
}

/**
 * A WebSocket, attached once the upgrade completes. Nothing is sent before that: the listener only
 * sends after `catchUp`, which the route calls from onOpen.
 */
export type WebSocketSink = { sink: StreamSink; attach(ws: WSContext): void };

/** What hookd needs of the runtime's socket beyond WSContext: ws (Node) has ping/pong and terminate; Deno pings by itself. */
type RawSocket = {
  bufferedAmount?: number;
  ping?: () => void;
  terminate?: () => void;
  on?: (event: "pong", listener: () => void) => void;
};

export function webSocketSink(options: {
  encode: (event: PublishedEvent) => Uint8Array | string;
  closeWith: (end: StreamEnd) => { code: number; reason: string };
}): WebSocketSink {
  let socket: WSContext | null = null;
  let closed = false;
  let pendingEnd: StreamEnd | null = null;
  let answeredPing = true;
  const raw = () => socket?.raw as RawSocket | undefined;
  const isClosed = () => closed || (socket !== null && socket.readyState > 1);
  // Both Node's ws and Deno's WebSocket count the bytes queued on the socket.
  const buffered = () => (socket && !closed ? (raw()?.bufferedAmount ?? 0) : 0);
  const sink: StreamSink = {
    send(events) {
      if (!socket || closed || socket.readyState !== 1) return;
      for (const event of events) {
        const frame = options.encode(event);
        socket.send(typeof frame === "string" ? frame : (frame as Uint8Array<ArrayBuffer>));
      }
    },
    buffered,
    drained: (bytes, timeoutMs) => waitUntilDrained(buffered, isClosed, bytes, timeoutMs),
    // Hookbot's frames are the bodies alone, so the heartbeat is a ping (a control frame no client sees as a message).
    // A peer that has not answered the previous ping is gone (a laptop gone to sleep): drop it, freeing its slot.
    heartbeat() {
      const socketRaw = raw();
      if (!socketRaw?.ping || isClosed()) return;
      if (!answeredPing) {
        socketRaw.terminate?.();
        return;
      }
      answeredPing = false;
      socketRaw.ping();
    },
    end(end) {
      if (closed) return;
      if (!socket) {
        pendingEnd = end;
        return;
      }
      closed = true;
      const { code, reason } = options.closeWith(end);
      socket.close(code, reason);
    },
  };
  return {
    sink,
    attach(ws) {
      socket = ws;
      raw()?.on?.("pong", () => (answeredPing = true));
      if (pendingEnd) sink.end(pendingEnd);
    },
  };
}

/**
 * A response body the runtime writes directly (Node: the ServerResponse), skipping a web
 * ReadableStream per listener: with thousands of listeners, reading each chunk back out of a web
 * stream was a sixth of the CPU.
 */
export type NativeStream = {
  write(chunk: Uint8Array): void;
  /** Bytes written and not yet taken by the socket. */
  buffered(): number;
  end(): void;
  /** Drops the connection at once. */
  drop(): void;
  isClosed(): boolean;
  onClose(callback: () => void): void;
  /** What the route returns, telling the adapter the response is already under way. */
  response: Response;
};

export function nativeStreamSink(
  native: NativeStream,
  options: { format: string; encode: (event: PublishedEvent) => Uint8Array; endFrame: (end: StreamEnd) => string; heartbeat: string },
): StreamSink {
  let ended = false;
  const heartbeat = utf8(options.heartbeat);
  const write = (chunk: Uint8Array) => {
    if (!ended && !native.isClosed()) native.write(chunk);
  };
  return {
    send: (events) => write(batchChunk(events, options.format, options.encode)),
    buffered: () => (native.isClosed() ? 0 : native.buffered()),
    drained: (bytes, timeoutMs) => waitUntilDrained(native.buffered, native.isClosed, bytes, timeoutMs),
    heartbeat: () => write(heartbeat),
    end(end) {
      write(utf8(options.endFrame(end)));
      ended = true;
      void waitUntilDrained(native.buffered, native.isClosed, 0, END_GRACE_MS).then((drained) => {
        if (native.isClosed()) return;
        // A client that stopped reading would hold the connection forever: drop it instead.
        if (drained) native.end();
        else native.drop();
      });
    },
  };
}

/**
 * A sink whose transport is chosen once the listener has been opened (so a refusal can still be an
 * HTTP error): until then nothing is sent, since a listener only sends after catchUp.
 */
export function lateSink(): { sink: StreamSink; bind(inner: StreamSink): void } {
  let inner: StreamSink | null = null;
  let pendingEnd: StreamEnd | null = null;
  return {
    sink: {
      send: (events) => inner?.send(events),
      buffered: () => inner?.buffered() ?? 0,
      drained: (bytes, timeoutMs) => (inner ? inner.drained(bytes, timeoutMs) : Promise.resolve(true)),
      heartbeat: () => inner?.heartbeat(),
      end(end) {
        if (inner) inner.end(end);
        else pendingEnd = end;
      },
    },
    bind(target) {
      inner = target;
      if (pendingEnd) target.end(pendingEnd);
    },
  };
}
