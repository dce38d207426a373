import type { Context } from "hono";
import { concatBytes, utf8 } from "../domain/bytes.ts";
import { type DeliveryChange, sseChangeFrame } from "../domain/delivery-changes.ts";
import { SSE_HEARTBEAT, sseEndFrame, ssePosition } from "../domain/stream-frames.ts";
import type { ChangeOutput } from "../runtime/change-listener.ts";
import type { ConsoleServices } from "../runtime/console-services.ts";
import type { StreamRouteDeps } from "./stream-routes.ts";
import { type ByteTransport, type NativeStream, webStreamTransport } from "./stream-sinks.ts";

/**
 * Server-Sent Events for the console's API streams (delivery changes, fleet figures, a bulk job's
 * progress): a transport per response (the runtime's own on Node, a web stream elsewhere), and the
 * change feed's frames, each encoded once however many listeners send it.
 */

export const SSE_HEADERS = { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" };

const STREAM_HEADERS = { ...SSE_HEADERS, "x-accel-buffering": "no" };

/**
 * A HEAD's answer: a stream's headers, with no stream opened. (Opened, Node's native stream would write
 * its headers a second time once Hono gives HEAD its bodiless response.)
 */
export function sseHeadAnswer(): Response {
  return new Response(null, { status: 200, headers: STREAM_HEADERS });
}

/** Opens the response: Node writes it directly, other runtimes get a web stream to return. */
export function openSse(
  c: Context,
  bufferBytes: number,
  openNative?: ((c: Context, headers: Record<string, string>) => NativeStream | null) | undefined,
): { transport: ByteTransport; response: () => Response } {
  const native = openNative?.(c, STREAM_HEADERS) ?? null;
  if (native) return { transport: native, response: () => native.response };
  const web = webStreamTransport(bufferBytes);
  return {
    transport: web.transport,
    response: () => new Response(web.body, { status: 200, headers: STREAM_HEADERS }),
  };
}

/** How long an ended stream may take to hand over its last frame before the connection is dropped. */
const END_GRACE_MS = 5_000;

/** Writes `last` and closes once the client took it, or drops a client that stopped reading. */
export function endSse(transport: ByteTransport, last: string): void {
  if (transport.isClosed()) return;
  transport.write(utf8(last));
  const deadline = Date.now() + END_GRACE_MS;
  const check = () => {
    if (transport.isClosed()) return;
    if (transport.buffered() === 0) return transport.end();
    if (Date.now() > deadline) return transport.drop();
    setTimeout(check, 20);
  };
  check();
}

// Every listener gets the same change objects from the feed, so each frame is made once.
const frames = new WeakMap<DeliveryChange, Uint8Array>();
const framesWithoutId = new WeakMap<DeliveryChange, Uint8Array>();

function frameOf(change: DeliveryChange, last: boolean): Uint8Array {
  const cache = last ? frames : framesWithoutId;
  let frame = cache.get(change);
  if (!frame) cache.set(change, frame = utf8(sseChangeFrame(change, last)));
  return frame;
}

/** A change listener's output as SSE on `transport`. */
export function sseChangeOutput(transport: ByteTransport): ChangeOutput {
  let lastId = -1;
  const write = (chunk: Uint8Array) => {
    if (!transport.isClosed()) transport.write(chunk);
  };
  return {
    send(changes) {
      // Only the last change of a journal message carries its id (see sseChangeFrame).
      const chunk = changes.map((change, i) => frameOf(change, changes[i + 1]?.seq !== change.seq));
      write(chunk.length === 1 ? chunk[0]! : concatBytes(chunk));
      lastId = changes.at(-1)!.seq;
    },
    buffered: () => (transport.isClosed() ? 0 : transport.buffered()),
    heartbeat(position) {
      // A filtered listener may see no change for long: its id still moves, so a reconnect skips what it passed.
      if (position !== lastId) {
        write(utf8(ssePosition(position)));
        lastId = position;
      } else write(utf8(SSE_HEARTBEAT));
    },
    end: (end) => endSse(transport, sseEndFrame(end)),
  };
}

/** The open SSE responses that are not change listeners (fleet, bulk jobs), so stopping hookd can end them. */
export class OpenSseResponses {
  readonly #open = new Map<ByteTransport, () => void>();

  add(transport: ByteTransport, onClose: () => void): void {
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      this.#open.delete(transport);
      onClose();
    };
    this.#open.set(transport, close);
    transport.onClose(close);
  }

  /** Ends every one; a client reconnects (elsewhere, or here after a restart) and gets the figures anew. */
  closeAll(): void {
    for (const [transport, close] of [...this.#open]) {
      close();
      endSse(transport, ": hookd is stopping\n\n");
    }
  }
}

/** What the fleet and bulk routes serve the console's services with, as JSON and as SSE. */
export type ConsoleSseRouteDeps = {
  console: ConsoleServices;
  bufferBytes: number;
  heartbeatMs: number;
  openNativeStream?: StreamRouteDeps["openNativeStream"];
  sseResponses: OpenSseResponses;
};
