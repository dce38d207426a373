import type { Context } from "hono";

/**
 * Something that fires once the client's connection is gone, for a stream whose slot must then be
 * given back. Under Node the response's close is not enough: a response queued behind another on a
 * pipelined connection is never given the socket, so neither it nor @hono/node-server's request
 * signal ever closes; the socket's own close always fires, so it is watched. Deno answers pipelined
 * requests one at a time and cancels a stream's body when its client goes (the transport's onClose),
 * and listening on its request signal would log a warning about its legacy abort, so there is
 * nothing to watch there.
 */

export type ConnectionWatch = {
  /** Aborted once the connection is gone. */
  readonly signal: AbortSignal;
  /** Stops watching (the stream ended first): a keep-alive socket serves later requests. */
  dispose(): void;
};

/** The part of Node's net.Socket used here, read from @hono/node-server's bindings without importing Node. */
type ClosingSocket = {
  destroyed?: boolean;
  once(event: "close", listener: () => void): unknown;
  off(event: "close", listener: () => void): unknown;
};

function nodeSocketOf(c: Context): ClosingSocket | null {
  const incoming = (c.env as { incoming?: { socket?: unknown } } | undefined)?.incoming;
  const socket = incoming?.socket as Partial<ClosingSocket> | null | undefined;
  return typeof socket?.once === "function" && typeof socket.off === "function" ? socket as ClosingSocket : null;
}

export function watchConnection(c: Context): ConnectionWatch {
  const controller = new AbortController();
  const gone = () => controller.abort();
  const socket = nodeSocketOf(c);
  if (socket?.destroyed) gone();
  else socket?.once("close", gone);
  return {
    signal: controller.signal,
    dispose: () => void socket?.off("close", gone),
  };
}
