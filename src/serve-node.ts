import { serve, type ServerType, upgradeWebSocket } from "@hono/node-server";
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";
import type { NativeStream } from "./http/stream-sinks.ts";
import type { Context, Hono } from "hono";
import { ServerResponse } from "node:http";
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

export function serveOnNode(
  app: Hono,
  options: { port: number; hostname: string },
  onListen?: (info: AddressInfo) => void,
): ServerType {
  return serve(
    {
      fetch: app.fetch,
      port: options.port,
      hostname: options.hostname,
      // Hookbot listeners send nothing; a small payload limit keeps a client from making hookd buffer large frames.
      websocket: { server: new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 }) },
    },
    onListen,
  );
}
