import { Page, Time } from "./layout.tsx";
import { CONSOLE_PATH } from "./session.ts";

/** The topic tail: the same SSE stream a subscriber reads (GET /sse/<topic>), shown as it arrives, resumable. */

export const TOPICS_PATH = `${CONSOLE_PATH}/topics`;

export type TailEvent = {
  seq: number;
  id: string;
  topic: string;
  type: string | null;
  content_type: string | null;
  published_at: string;
  body?: string;
  body_base64?: string;
};

export function TopicsPage({ topic, since, csrf }: { topic: string; since: string; csrf: string }) {
  const query = new URLSearchParams({ topic, ...(since ? { since } : {}) });
  return (
    <Page title="Topics" csrf={csrf} section="topics">
      <h1>Topic tail</h1>
      <form method="get" action={TOPICS_PATH} class="card filters">
        <label>
          Topic (end with / for every topic below)
          <input name="topic" value={topic} placeholder="github.com/org/repo" required />
        </label>
        <label>
          Start after event # (or a time; empty: from now)
          <input name="since" value={since} placeholder="41 or 2026-01-01T00:00:00Z" />
        </label>
        <div class="actions">
          <button type="submit">Tail</button>
        </div>
      </form>
      {topic
        ? (
          <section class="card">
            <h2 class="wrap">{topic}</h2>
            <p class="muted" id="tail-status">
              Live. A dropped connection resumes after the last event shown (Last-Event-ID).
            </p>
            <ul
              class="tail"
              id="tail"
              hx-ext="sse"
              sse-connect={`${TOPICS_PATH}/tail?${query}`}
              sse-swap="event"
              sse-close="end"
              hx-swap="afterbegin"
              data-keep="200"
            >
            </ul>
          </section>
        )
        : null}
    </Page>
  );
}

export function TailLine({ event }: { event: TailEvent }) {
  const body = event.body ?? `(binary, base64) ${event.body_base64 ?? ""}`;
  return (
    <li data-seq={event.seq} data-event-id={event.id}>
      <div class="meta">
        #{event.seq} · {event.topic} · {event.type ?? "untyped"} · <Time at={event.published_at} /> · {event.id}
      </div>
      <pre>{body.length > 4_000 ? `${body.slice(0, 4_000)}…` : body}</pre>
    </li>
  );
}

export function TailEnd({ reason }: { reason: string }) {
  return <li class="muted">The stream ended: {reason}</li>;
}
