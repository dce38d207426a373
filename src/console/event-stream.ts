import type { Context } from "hono";
import { streamSSE } from "hono/streaming";
import type { Following } from "./services.ts";

/**
 * An SSE response fed by a NATS follower: each item the follower hands over becomes one event, with
 * its journal sequence as the id, so the browser's reconnect (Last-Event-ID) resumes after it. No
 * polling: the stream sleeps until NATS pushes something, with a comment now and then to keep
 * proxies from closing an idle connection.
 */

export type SseItem = { id: string; event: string; data: string };

/**
 * A HEAD's answer for a stream route, or null for any other method. Hono answers HEAD by running the
 * GET handler and dropping the body without cancelling it, so a stream opened for a HEAD is never
 * told its client left: its NATS follower (and, for the topic tail, the token's stream slot) would stay.
 */
export function sseHeadOnly(c: Context): Response | null {
  if (c.req.method !== "HEAD") return null;
  return new Response(null, {
    status: 200,
    headers: { "content-type": "text/event-stream", "cache-control": "no-cache" },
  });
}

const KEEPALIVE_MS = 20_000;
/** Items waiting for a stream that does not coalesce; more means its client stopped reading. */
const MAX_QUEUED = 1_000;

/**
 * `coalesceMs`: at most one event per that many ms, the newest (a list page refetches on any change,
 * so a burst of journal messages costs it one refetch).
 */
export function followAsSse(
  c: Context,
  start: (push: (item: SseItem) => void, lost: () => void) => Promise<Following>,
  coalesceMs = 0,
  /** Fills an item in just before it is written (so a coalesced burst is rendered once). */
  finish: (item: SseItem) => Promise<SseItem> = async (item) => item,
): Response {
  const head = sseHeadOnly(c);
  if (head) return head;
  return streamSSE(c, async (stream) => {
    const queue: SseItem[] = [];
    let wake: (() => void) | null = null;
    let ended = false;
    const poke = () => {
      wake?.();
      wake = null;
    };
    // Heard before the follower is set up: a browser that leaves meanwhile must end it too.
    stream.onAbort(() => {
      ended = true;
      poke();
    });
    const following = await start((item) => {
      // A coalescing stream writes only the newest item; any stream ends (and the browser resumes with
      // Last-Event-ID) rather than queue without bound behind a client that stopped reading.
      if (coalesceMs > 0) queue.length = 0;
      else if (queue.length >= MAX_QUEUED) ended = true;
      queue.push(item);
      poke();
    }, () => {
      ended = true;
      poke();
    });
    const keepalive = setInterval(() => void stream.write(": keepalive\n\n").catch(poke), KEEPALIVE_MS);
    try {
      while (!ended && !stream.aborted) {
        if (queue.length === 0) await new Promise<void>((resolve) => (wake = resolve));
        if (ended || stream.aborted) break;
        const items = queue.splice(0);
        for (const item of coalesceMs > 0 ? items.slice(-1) : items) await stream.writeSSE(await finish(item));
        if (coalesceMs > 0) await stream.sleep(coalesceMs);
      }
    } finally {
      clearInterval(keepalive);
      following.stop();
    }
  });
}

/** Where a reconnecting stream resumes: Last-Event-ID, else the page's `after`, else from now on. */
export function resumeAfter(c: Context): number {
  const value = Number(c.req.header("last-event-id") ?? c.req.query("after") ?? 0);
  return Number.isSafeInteger(value) && value > 0 ? value : 0;
}
