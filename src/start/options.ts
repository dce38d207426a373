import type { Context } from "hono";
import type { UpgradeWebSocket } from "hono/ws";
import type { NativeStream } from "../http/stream-sinks.ts";
import type { HookdMetrics } from "../metrics.ts";

/** What an entry point hands start-up: the parts that differ between runtimes. */

export type StartOptions = {
  metrics?: HookdMetrics;
  /** The runtime's WebSocket upgrade, from the entry point (Node and Deno each have their own). */
  upgradeWebSocket?: UpgradeWebSocket;
  /** Starts a topic stream's response that the runtime writes directly (Node), skipping a web stream per listener. */
  openNativeStream?: (c: Context, headers: Record<string, string>) => NativeStream | null;
};
