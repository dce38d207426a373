import { type Http2Bindings, type HttpBindings, serve, type ServerType, upgradeWebSocket } from "@hono/node-server";
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";
import type { NativeStream } from "./http/stream-sinks.ts";
import type { BufferedBodyEnv } from "./http/read-body.ts";
import type { Context, Hono } from "hono";
import { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocketServer } from "ws";

/** Serving on Node: @hono/node-server with its WebSocket support (the ws package); the Node entry point and the tests share it. */

export const nodeUpgradeWebSocket = upgradeWebSocket;

/** A topic stream written straight to Node's response (no web stream between), or null off plain HTTP/1 Node serving. */
export function nodeOpenNativeStream(c: Context, headers: Record<string, string>): NativeStream | null {
  const outgoing = (c.env as { outgoing?: unknown } | undefined)?.outgoing;
  if (!(outgoing instanceof ServerResponse)) return null;
  outgoing.writeHead(200, headers);
  outgoing.flushHeaders();
  return {
    write: (chunk) => void outgoing.write(chunk),
    buffered: () => outgoing.writableLength,
    end: () => outgoing.end(),
    drop: () => outgoing.destroy(),
    isClosed: () => outgoing.destroyed || outgoing.writableEnded,
    onClose: (callback) => void outgoing.once("close", callback),
    response: RESPONSE_ALREADY_SENT,
  };
}

/**
 * The body of `incoming` when all `declaredBytes` of it are buffered and nothing has read it yet,
 * taken in one read; null otherwise (the body is still arriving, or something streams it). Resumed
 * after, so its end is still seen by whoever waits for it (@hono/node-server's clean-up does).
 */
export function takeBufferedBody(incoming: IncomingMessage, declaredBytes: number): Uint8Array<ArrayBuffer> | null {
  if (incoming.readableDidRead || incoming.readableLength !== declaredBytes) return null;
  if (declaredBytes === 0) return new Uint8Array(0);
  const chunk = incoming.read(declaredBytes) as Buffer | null;
  incoming.resume();
  if (chunk === null) return null;
  // One chunk is a copy of its own; several are joined into a slice of Node's shared pool, which the body must not keep.
  const own = chunk.byteOffset === 0 && chunk.buffer.byteLength === chunk.length;
  return own ? new Uint8Array(chunk.buffer as ArrayBuffer) : new Uint8Array(chunk);
}

export function serveOnNode(
  app: Hono,
  options: { port: number; hostname: string },
  onListen?: (info: AddressInfo) => void,
): ServerType {
  return serve(
    {
      fetch: (request, env: (HttpBindings | Http2Bindings) & BufferedBodyEnv) => {
        const incoming = env.incoming;
        // Served over HTTP/1 only (serve() makes an http.Server); the check keeps an HTTP/2 request on Hono's own path.
        if (incoming instanceof IncomingMessage) {
          env.takeBufferedBody = (declaredBytes) => takeBufferedBody(incoming, declaredBytes);
        }
        return app.fetch(request, env);
      },
      port: options.port,
      hostname: options.hostname,
      // Hookbot listeners send nothing; a small payload limit keeps a client from making hookd buffer large frames.
      websocket: { server: new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 }) },
    },
    onListen,
  );
}
