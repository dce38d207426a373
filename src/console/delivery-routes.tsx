import type { Context, Hono } from "hono";
import { deliveryMachine } from "../../actors/delivery.machine.ts";
import { describeMachine } from "../../actors/machine-graph.ts";
import { buildDeliveryView } from "../runtime/delivery-view.ts";
import type { ConsoleDeps } from "./console-deps.ts";
import { replayTo } from "./delivery-replay.ts";
import { DeliveryPage, DeliveryPanel, DiagramAt } from "./delivery-page.tsx";
import { followAsSse, resumeAfter } from "./event-stream.ts";
import { layOutMachine } from "./machine-layout.ts";
import { NotFound } from "./not-found.tsx";
import type { SessionEnv } from "./session.ts";
import { actionResult } from "./action-result.tsx";
import { renderToString } from "./render.ts";
import { isDeliveryId } from "../domain/ids.ts";
import { orWhenUnreadable } from "../nats/journal.ts";
import { consoleErrorMessage } from "./error-message.ts";

/** /console/deliveries/<id>: the page, the diagram at a journal entry, its live panel as an event stream, retry and cancel. */

export const deliveryLayout = layOutMachine(describeMachine(deliveryMachine));

async function load(deps: ConsoleDeps, id: string) {
  // A wildcard or any other non-id must never reach a subject.
  if (!isDeliveryId(id)) return null;
  const created = await deps.deliveryStore.readCreated(id);
  if (!created) return null;
  const transitions = await deps.deliveryStore.readTransitions(id);
  return { created, transitions, view: buildDeliveryView(created, transitions) };
}

/** At most one panel per this many ms while the journal moves fast; the newest state always comes last. */
const PANEL_REFRESH_MS = 200;

/**
 * The panel as it stands. One whose journal this hookd cannot read says so in its place: thrown, it
 * would end the live stream and leave the panel stale without a word.
 */
function panelHtml(deps: ConsoleDeps, id: string): Promise<string> {
  return orWhenUnreadable(currentPanelHtml(deps, id), (error) => {
    deps.log.warn({ err: error, deliveryId: id }, "a delivery's live panel cannot read its journal");
    return renderToString(<p class="error">{consoleErrorMessage(error).text}</p>);
  });
}

async function currentPanelHtml(deps: ConsoleDeps, id: string): Promise<string> {
  const loaded = await load(deps, id);
  // Gone since the page was drawn (its journal aged out): say so where the panel was.
  if (!loaded) return renderToString(<p class="error">This delivery is no longer in the journal (it expired).</p>);
  return renderToString(<DeliveryPanel view={loaded.view} layout={deliveryLayout} point={now(loaded)} />);
}

type Loaded = NonNullable<Awaited<ReturnType<typeof load>>>;

const lastSeqOf = (loaded: Loaded) => Math.max(loaded.created.seq, loaded.transitions.at(-1)?.seq ?? 0);
const now = (loaded: Loaded) => replayTo(loaded.created, loaded.transitions, loaded.transitions.length);

export function mountDeliveryPages(app: Hono<SessionEnv>, deps: ConsoleDeps): void {
  app.get("/deliveries/:id", async (c) => {
    const loaded = await load(deps, c.req.param("id"));
    if (!loaded) return notFound(c);
    return c.html(
      <DeliveryPage
        view={loaded.view}
        layout={deliveryLayout}
        point={now(loaded)}
        csrf={c.get("csrf")}
        lastSeq={lastSeqOf(loaded)}
      />,
    );
  });
  app.get("/deliveries/:id/diagram", async (c) => {
    const loaded = await load(deps, c.req.param("id"));
    if (!loaded) return notFound(c);
    const upto = c.req.query("upto");
    const point = upto === undefined ? now(loaded) : replayTo(loaded.created, loaded.transitions, Number(upto) || 0);
    return c.html(
      <DiagramAt layout={deliveryLayout} point={point} total={loaded.transitions.length} id={loaded.view.id} />,
    );
  });
  app.get("/deliveries/:id/live", (c) => {
    const id = c.req.param("id");
    if (!isDeliveryId(id)) return notFound(c);
    return followAsSse(
      c,
      (push, lost) =>
        deps.services.changes.followOne(
          id,
          resumeAfter(c),
          (seq) => push({ id: String(seq), event: "panel", data: "" }),
          lost,
        ),
      PANEL_REFRESH_MS,
      // Rendered when written, from the journal as it is then: a burst of changes costs one read.
      async (item) => ({ ...item, data: await panelHtml(deps, id) }),
    );
  });
  app.post("/deliveries/:id/retry", async (c) => {
    const id = c.req.param("id");
    if (!isDeliveryId(id)) return notFound(c);
    const state = await deps.deliveries.retry(id);
    return c.html(actionResult(`Retry requested: the delivery is ${state}.`));
  });
  app.post("/deliveries/:id/cancel", async (c) => {
    const id = c.req.param("id");
    if (!isDeliveryId(id)) return notFound(c);
    const state = await deps.deliveries.cancel(id);
    return c.html(actionResult(`Cancelled: the delivery is ${state}.`));
  });
}

function notFound(c: Context) {
  return c.html(<NotFound what="delivery" />, 404);
}
