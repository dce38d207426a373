import { serve, upgradeWebSocket, type ServerType } from "@hono/node-server";
import type { Context, Hono } from "hono";
import type { ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocketServer } from "ws";

/** Serving on Node: @hono/node-server with its WebSocket support (the ws package); the Node entry point and the tests share it. */

export const nodeUpgradeWebSocket = upgradeWebSocket;

/** Destroys the socket under a request; erroring a response stream instead leaves it waiting for a drain that never comes. */
export function nodeDropConnection(c: Context): void {
  (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing?.destroy();
}

export function serveOnNode(app: Hono, options: { port: number; hostname: string }, onListen?: (info: AddressInfo) => void): ServerType {
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
