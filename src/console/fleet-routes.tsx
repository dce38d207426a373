import type { Hono } from "hono";
import type { ConsoleDeps } from "./console-deps.ts";
import { deliveryLayout } from "./delivery-routes.tsx";
import { followAsSse, resumeAfter } from "./event-stream.ts";
import { FLEET_WINDOW_MS, FleetBody, FleetPage, type FleetView } from "./fleet-page.tsx";
import { renderToString } from "./render.ts";
import type { SessionEnv } from "./session.ts";

/**
 * /console/fleet. With the fleet service, its snapshots stream straight to the page; without it,
 * the page shows counts per state from the delivery index, counted again when the journal changes
 * (at most every few seconds).
 */

const RECOUNT_MS = 3_000;

async function viewOf(deps: ConsoleDeps): Promise<FleetView> {
  const fleet = deps.services.fleet;
  if (fleet) {
    const snapshot = await fleet.snapshot(FLEET_WINDOW_MS);
    return { snapshot, states: snapshot.states };
  }
  return { snapshot: null, states: (await deps.services.index.page({}, null, 0)).counts };
}

const frame = (view: FleetView) => renderToString(<FleetBody view={view} layout={deliveryLayout} />);

export function mountFleetPage(app: Hono<SessionEnv>, deps: ConsoleDeps): void {
  app.get(
    "/fleet",
    async (c) => c.html(<FleetPage view={await viewOf(deps)} layout={deliveryLayout} csrf={c.get("csrf")} />),
  );
  app.get("/fleet/live", (c) => {
    const fleet = deps.services.fleet;
    if (fleet) {
      let n = 0;
      return followAsSse(
        c,
        (push) =>
          fleet.follow(
            FLEET_WINDOW_MS,
            (snapshot) => push({ id: String(++n), event: "fleet", data: frame({ snapshot, states: snapshot.states }) }),
          ),
      );
    }
    return followAsSse(
      c,
      (push, lost) =>
        deps.services.changes.follow(resumeAfter(c), (change) => {
          // Counted when the coalesced event is written, not per change: see below.
          push({ id: String(change.seq), event: "fleet", data: "" });
        }, lost),
      RECOUNT_MS,
      async (item) => ({ ...item, data: frame(await viewOf(deps)) }),
    );
  });
}
