import type { WSContext } from "hono/ws";
import { concatBytes, utf8 } from "../domain/bytes.ts";
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

/** The frames of several messages as one chunk (each frame cached per event), made once per batch and encoding. */
function batchChunk(
  events: readonly PublishedEvent[],
  key: string,
  encode: (event: PublishedEvent) => Uint8Array,
): Uint8Array {
  const frame = (event: PublishedEvent) => cachedFrame(event, key, () => encode(event));
  if (events.length === 1) return frame(events[0]!);
  let byKey = batches.get(events);
  if (!byKey) batches.set(events, byKey = new Map());
  let chunk = byKey.get(key);
  if (!chunk) {
    chunk = concatBytes(events.map(frame));
    byKey.set(key, chunk);
  }
  return chunk;
}

export function cachedFrame<T extends Uint8Array | string>(event: PublishedEvent, key: string, make: () => T): T {
  let byKey = frames.get(event);
  if (!byKey) frames.set(event, byKey = new Map());
  let frame = byKey.get(key) as T | undefined;
  if (frame === undefined) byKey.set(key, frame = make());
  return frame;
}

/** Polls `buffered` until it is at most `bytes`; false when `timeoutMs` passes first. */
async function waitUntilDrained(
  buffered: () => number,
  isClosed: () => boolean,
  bytes: number,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (buffered() > bytes) {
    if (isClosed() || Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

/** How long a stream that hookd ends may take to hand over its last frame before the connection is dropped. */
const END_GRACE_MS = 5_000;

/** Where a byte stream's chunks go: a web ReadableStream, or the runtime's response itself. */
export type ByteTransport = {
  write(chunk: Uint8Array): void;
  /** Bytes written and not yet taken by the client. */
  buffered(): number;
  end(): void;
  /** Gives up on the client at once. */
  drop(): void;
  isClosed(): boolean;
  onClose(callback: () => void): void;
};

/**
 * A response body the runtime writes directly (Node: the ServerResponse), skipping a web
 * ReadableStream per listener: with thousands of listeners, reading each chunk back out of a web
 * stream was a sixth of the CPU.
 */
export type NativeStream = ByteTransport & {
  /** What the route returns, telling the adapter the response is already under way. */
  response: Response;
};

/** A ReadableStream as a transport, for runtimes without a native one (Deno) or when middleware must see the response. */
export function webStreamTransport(limitBytes: number): { transport: ByteTransport; body: ReadableStream<Uint8Array> } {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let closed = false;
  let cancelled: () => void = () => undefined;
  // The queue is counted in bytes; desiredSize falls below the high-water mark as bytes wait unread.
  const body = new ReadableStream<Uint8Array>(
    {
      start(c) {
        controller = c;
      },
      cancel() {
        closed = true;
        cancelled();
      },
    },
    { highWaterMark: limitBytes, size: (chunk) => chunk.byteLength },
  );
  const transport: ByteTransport = {
    write(chunk) {
      if (closed) return;
      try {
        controller.enqueue(chunk);
      } catch {
        // The stream was errored or closed under us: the client is gone, so its slot is given back now.
        closed = true;
        cancelled();
      }
    },
    buffered: () => (closed ? 0 : Math.max(0, limitBytes - (controller.desiredSize ?? limitBytes))),
    end() {
      closed = true;
      controller.close();
    },
    drop() {
      closed = true;
      // Frees the queue; the runtime closes the connection when it next reads the stream.
      controller.error(new Error("the client stopped reading"));
    },
    isClosed: () => closed,
    onClose: (callback) => (cancelled = callback),
  };
  return { transport, body };
}

/** A byte stream (SSE, /stream's JSON lines) over a transport: encoded frames, heartbeats, and an end that never waits forever. */
export function byteSink(
  transport: ByteTransport,
  options: {
    format: string;
    encode: (event: PublishedEvent) => Uint8Array;
    endFrame: (end: StreamEnd) => string;
    heartbeat: string;
  },
): StreamSink {
  let ended = false;
  const heartbeat = utf8(options.heartbeat);
  const write = (chunk: Uint8Array) => {
    if (!ended && !transport.isClosed()) transport.write(chunk);
  };
  return {
    send: (events) => write(batchChunk(events, options.format, options.encode)),
    buffered: () => (transport.isClosed() ? 0 : transport.buffered()),
    drained: (bytes, timeoutMs) => waitUntilDrained(transport.buffered, transport.isClosed, bytes, timeoutMs),
    heartbeat: () => write(heartbeat),
    end(end) {
      write(utf8(options.endFrame(end)));
      ended = true;
      void waitUntilDrained(transport.buffered, transport.isClosed, 0, END_GRACE_MS).then((drained) => {
        if (transport.isClosed()) return;
        // A client that stopped reading would hold the connection (and its queue) forever: drop it instead.
        if (drained) transport.end();
        else transport.drop();
      });
    },
  };
}

/** What hookd needs of the runtime's socket beyond WSContext: ws (Node) has ping/pong and terminate; Deno pings by itself. */
type RawSocket = {
  bufferedAmount?: number;
  ping?: () => void;
  terminate?: () => void;
  on?: (event: "pong", listener: () => void) => void;
};

/** An open WebSocket as a sink (bound once the upgrade completes, through lateSink). */
export function webSocketSink(
  ws: WSContext,
  options: {
    encode: (event: PublishedEvent) => Uint8Array | string;
    closeWith: (end: StreamEnd) => { code: number; reason: string };
  },
): StreamSink {
  let closed = false;
  let answeredPing = true;
  const raw = ws.raw as RawSocket | undefined;
  raw?.on?.("pong", () => (answeredPing = true));
  const isClosed = () => closed || ws.readyState > 1;
  // Both Node's ws and Deno's WebSocket count the bytes queued on the socket.
  const buffered = () => (isClosed() ? 0 : (raw?.bufferedAmount ?? 0));
  return {
    send(events) {
      if (isClosed() || ws.readyState !== 1) return;
      for (const event of events) {
        const frame = options.encode(event);
        ws.send(typeof frame === "string" ? frame : (frame as Uint8Array<ArrayBuffer>));
      }
    },
    buffered,
    drained: (bytes, timeoutMs) => waitUntilDrained(buffered, isClosed, bytes, timeoutMs),
    // Hookbot's frames are the bodies alone, so the heartbeat is a ping (a control frame no client sees as a message).
    // A peer that has not answered the previous ping is gone (a laptop gone to sleep): drop it, freeing its slot.
    heartbeat() {
      if (!raw?.ping || isClosed()) return;
      if (!answeredPing) {
        raw.terminate?.();
        return;
      }
      answeredPing = false;
      raw.ping();
    },
    end(end) {
      if (closed) return;
      closed = true;
      const { code, reason } = options.closeWith(end);
      ws.close(code, reason);
    },
  };
}

/**
 * A sink whose transport is chosen once the listener has been opened (so a refusal can still be an
 * HTTP error) or once a WebSocket upgrade completes: until then nothing is sent, since a listener
 * only sends after catchUp, and an end is held and applied on binding.
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
