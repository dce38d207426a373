import type { Hono } from "hono";
import { type SSEStreamingApi, streamSSE } from "hono/streaming";
import { sseHeadOnly } from "./event-stream.ts";
import { createParser } from "eventsource-parser";
import { END_EVENT } from "../domain/stream-frames.ts";
import type { ConsoleDeps } from "./console-deps.ts";
import { renderToString } from "./render.ts";
import type { SessionEnv } from "./session.ts";
import { TailEnd, type TailEvent, TailLine, TopicsPage } from "./topics-page.tsx";

/**
 * /console/topics: the tail reads the very stream subscribers get, by asking the API app for
 * GET /sse/<topic>?format=json with the session's token, and hands each event on as a line of
 * HTML (escaped, since a topic's body is anyone's text). The event's sequence stays its SSE id,
 * so the browser's reconnect resumes where it stopped. A refusal (the API's 4xx, a `.` or `..`
 * segment) is one line and an `end` event the page closes its stream on: reconnecting would only be
 * refused again.
 */

/** `.` and `..` would climb out of /sse/ once the URL is resolved, to whatever the session's token reads. */
const hasDotSegment = (topic: string) => topic.split("/").some((segment) => segment === "." || segment === "..");

function ssePath(topic: string): string {
  return "/sse/" + topic.split("/").map(encodeURIComponent).join("/");
}

export function mountTopicPages(app: Hono<SessionEnv>, deps: ConsoleDeps): void {
  app.get(
    "/topics",
    (c) =>
      c.html(
        <TopicsPage
          topic={c.req.query("topic")?.trim() ?? ""}
          since={c.req.query("since")?.trim() ?? ""}
          csrf={c.get("csrf")}
        />,
      ),
  );
  app.get("/topics/tail", async (c) => {
    const head = sseHeadOnly(c);
    if (head) return head;
    const topic = c.req.query("topic")?.trim() ?? "";
    if (hasDotSegment(topic)) {
      return streamSSE(c, (stream) => refuse(stream, "400 a topic has no . or .. segment"));
    }
    const url = new URL(ssePath(topic), c.req.url);
    url.searchParams.set("format", "json");
    const since = c.req.query("since");
    if (since) url.searchParams.set("since", since);
    const headers = new Headers({ authorization: `Bearer ${c.get("token")}`, accept: "text/event-stream" });
    const lastEventId = c.req.header("last-event-id");
    if (lastEventId) headers.set("last-event-id", lastEventId);
    const upstream = new AbortController();
    const response = await deps.api(new Request(url, { headers, signal: upstream.signal }));
    return streamSSE(c, async (stream) => {
      stream.onAbort(() => upstream.abort());
      if (!response.ok || !response.body) {
        const problem = await response.text().catch(() => "");
        const line = `${response.status} ${problem.slice(0, 300)}`;
        // A refusal (4xx) ends the tail for good; anything else (NATS away: 503) is said, and the browser
        // reconnects and resumes with Last-Event-ID.
        if (response.status >= 400 && response.status < 500) return refuse(stream, line);
        await stream.writeSSE({ event: "event", data: renderToString(<TailEnd reason={line} />) });
        return;
      }
      const frames: { id?: string | undefined; data: string }[] = [];
      const parser = createParser({
        onEvent: (event) => {
          if (event.event === END_EVENT) {
            frames.push({ data: renderToString(<TailEnd reason={event.data} />) });
            return;
          }
          const parsed = JSON.parse(event.data) as TailEvent;
          frames.push({ id: event.id, data: renderToString(<TailLine event={parsed} />) });
        },
      });
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          parser.feed(value);
          for (const frame of frames.splice(0)) {
            await stream.writeSSE({ event: "event", data: frame.data, ...(frame.id ? { id: frame.id } : {}) });
          }
        }
      } catch {
        // The browser left (the upstream read is aborted with it).
      } finally {
        upstream.abort();
      }
    });
  });
}

async function refuse(stream: SSEStreamingApi, reason: string): Promise<void> {
  await stream.writeSSE({ event: "event", data: renderToString(<TailEnd reason={reason} />) });
  await stream.writeSSE({ event: "end", data: reason });
}
