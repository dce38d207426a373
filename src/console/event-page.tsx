import { isEventId } from "../domain/ids.ts";
import { ActorNotFoundError } from "../runtime/errors.ts";
import type { Hono } from "hono";
import { type EventView, loadEventView } from "../runtime/event-view.ts";
import type { ConsoleDeps } from "./console-deps.ts";
import { deliveryPath } from "./delivery-page.tsx";
import { Page, StateBadge, Time } from "./layout.tsx";
import type { SessionEnv } from "./session.ts";
import { subscriptionPath } from "./subscriptions-page.tsx";
import { TOPICS_PATH } from "./topics-page.tsx";

/** /console/events/<id>: a published event, as GET /api/v1/events/<id> reads it, with the deliveries its fan-out made. */

function EventPage({ view, csrf }: { view: EventView; csrf: string }) {
  return (
    <Page title={view.id} csrf={csrf} section="topics">
      <h1 class="id">{view.id}</h1>
      <dl class="summary card">
        <dt>Topic</dt>
        <dd class="wrap">
          <a href={`${TOPICS_PATH}?${new URLSearchParams({ topic: view.topic, since: String(view.seq - 1) })}`}>
            {view.topic}
          </a>
          {view.unsafe ? " (unsafe)" : ""}
        </dd>
        <dt>Type</dt>
        <dd>{view.type ?? "untyped"}</dd>
        <dt>Published</dt>
        <dd>
          <Time at={view.published_at} />
        </dd>
        <dt>Position</dt>
        <dd>#{view.seq} in the topic log</dd>
        <dt>Size</dt>
        <dd>{view.body_bytes} bytes{view.content_type ? `, ${view.content_type}` : ""}</dd>
      </dl>
      <section class="card">
        <h2>Payload</h2>
        <pre>{view.body ?? `(base64) ${view.body_base64 ?? ""}`}</pre>
      </section>
      <section class="card scroll">
        <h2>Deliveries</h2>
        {view.deliveries.length === 0 ? <p class="muted">No subscription took it.</p> : (
          <table class="list">
            <tbody>
              {view.deliveries.map((d) => (
                <tr>
                  <td class="id">
                    <a href={deliveryPath(d.id)}>{d.id}</a>
                  </td>
                  <td>
                    <StateBadge state={d.state} />
                  </td>
                  <td class="id">
                    <a href={subscriptionPath(d.subscription_id)}>{d.subscription_id}</a>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </Page>
  );
}

export function mountEventPage(app: Hono<SessionEnv>, deps: ConsoleDeps): void {
  app.get("/events/:id", async (c) => {
    const id = c.req.param("id");
    // Checked before it becomes part of a NATS subject, as the API does.
    if (!isEventId(id)) throw new ActorNotFoundError("event", id);
    return c.html(<EventPage view={await loadEventView(deps.events, id)} csrf={c.get("csrf")} />);
  });
}
