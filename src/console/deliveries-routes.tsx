import { isDeliveryId } from "../domain/ids.ts";
import type { Context, Hono } from "hono";
import type { ConsoleDeps } from "./console-deps.ts";
import { readListQuery } from "./delivery-filter.ts";
import { deliveryPath } from "./delivery-page.tsx";
import { DeliveriesPage, LIST_PATH, Results } from "./deliveries-page.tsx";
import { followAsSse, resumeAfter } from "./event-stream.ts";
import { renderToString } from "./render.ts";
import type { SessionEnv } from "./session.ts";

/** /console/deliveries: the list page, and its results sent again, rendered, when a change concerns them. */

export const PAGE_SIZE = 50;

/** The list's newest changes at most this often: a busy journal costs an open page one page read a second. */
const LIST_REFRESH_MS = 1_000;
/** After the last change of a burst, one more render this much later: past the counts' second of sharing. */
const SETTLE_MS = 1_500;

async function resultsOf(c: Context<SessionEnv>, deps: ConsoleDeps) {
  const query = c.req.query();
  const { filter, cursor, ignored } = readListQuery(query);
  const page = await deps.services.index.page(filter, cursor, PAGE_SIZE);
  return { query, page, ignored, bulk: deps.services.bulk !== null };
}

export function mountDeliveryList(app: Hono<SessionEnv>, deps: ConsoleDeps): void {
  app.get("/deliveries", async (c) => {
    // A search for an exact delivery id goes straight to it.
    const search = c.req.query("q")?.trim();
    if (search && isDeliveryId(search) && (await deps.deliveryStore.readCreated(search))) {
      return c.redirect(deliveryPath(search), 303);
    }
    return c.html(<DeliveriesPage {...await resultsOf(c, deps)} csrf={c.get("csrf")} />);
  });
  app.get("/deliveries/live", (c) => {
    const { filter } = readListQuery(c.req.query());
    return followAsSse(
      c,
      async (push, lost) => {
        // Counts per state are shared for a second (nats/delivery-listing.ts), so a render right after
        // a change may count from before it: one more render once they are read again settles the page.
        let settle: ReturnType<typeof setTimeout> | undefined;
        const following = await deps.services.index.follow(filter, resumeAfter(c), (seq) => {
          const item = { id: String(seq), event: "results", data: "" };
          push(item);
          clearTimeout(settle);
          settle = setTimeout(() => push(item), SETTLE_MS);
        }, lost);
        return {
          stop: () => {
            clearTimeout(settle);
            following.stop();
          },
        };
      },
      LIST_REFRESH_MS,
      // Rendered when written, so a burst of changes costs one page read, and the newest comes last.
      async (item) => ({ ...item, data: renderToString(<Results {...await resultsOf(c, deps)} />) }),
    );
  });
}

export { LIST_PATH };
