import type { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { sseHeadOnly } from "./event-stream.ts";
import { actionResult } from "./action-result.tsx";
import { BulkFollower, BulkPage, BulkProgress } from "./bulk-page.tsx";
import type { ConsoleDeps } from "./console-deps.ts";
import { readListQuery } from "./delivery-filter.ts";
import { renderToString } from "./render.ts";
import type { BulkAction } from "./services.ts";
import type { SessionEnv } from "./session.ts";

/** /console/bulk: the count for the list's filter, starting a job, following and stopping it, all through the BulkJobs service. */

const ACTIONS = new Set<BulkAction>(["retry", "cancel"]);
/** A search matches ids and event ids the list looks up one by one; a bulk job's filter cannot hold one. */
const SEARCH_REFUSED = "A search is not a bulk filter: clear it, then count again.";
const NOT_UNDERSTOOD = (fields: readonly string[]) =>
  `Not understood, so not applied: ${
    fields.join(", ")
  }. A bulk action takes only a filter it reads whole: fix them, then count again.`;
const EMPTY =
  "A bulk action needs a filter (a state, a target host, a subscription…): it never acts on every delivery.";
const TOO_MANY = (limit: number) =>
  `The filter matches more than ${limit} deliveries, the most one bulk action takes (HOOKD_BULK_MAX): narrow it (a time range, a target host).`;

/**
 * Why the list's filter cannot be a bulk job's, or null when it can: a field the list ignores as not
 * understood (a misspelt state) must not widen the job, and an empty filter would match every delivery.
 */
function refusalOf(query: Record<string, string>): string | null {
  const { filter, ignored } = readListQuery(query);
  if (ignored.length > 0) return NOT_UNDERSTOOD(ignored);
  if (filter.search) return SEARCH_REFUSED;
  const named = Object.entries(filter).some(([key, value]) => key !== "search" && value !== undefined && value !== "");
  return named ? null : EMPTY;
}

export function mountBulkPages(app: Hono<SessionEnv>, deps: ConsoleDeps): void {
  app.get("/bulk", async (c) => {
    const bulk = deps.services.bulk;
    const filter = readListQuery(c.req.query()).filter;
    const refused = refusalOf(c.req.query());
    if (refused) {
      return c.html(<BulkPage query={c.req.query()} count={null} refusal={refused} csrf={c.get("csrf")} />, 400);
    }
    const counted = bulk ? await bulk.count(filter) : null;
    const refusal = counted?.truncated ? `${TOO_MANY(counted.count)}` : undefined;
    return c.html(
      <BulkPage query={c.req.query()} count={counted?.count ?? null} refusal={refusal} csrf={c.get("csrf")} />,
    );
  });
  app.post("/bulk/:action{retry|cancel}", async (c) => {
    const bulk = deps.services.bulk;
    const action = c.req.param("action") as BulkAction;
    if (!bulk || !ACTIONS.has(action)) return c.html(actionResult("Bulk actions are not available here.", false), 404);
    const filter = readListQuery(c.req.query()).filter;
    const refused = refusalOf(c.req.query());
    if (refused) return c.html(actionResult(refused, false), 400);
    const job = await bulk.start(action, filter);
    return c.html(<BulkFollower job={job} />);
  });
  app.post("/bulk/jobs/:id/cancel", async (c) => {
    const job = await deps.services.bulk?.cancel(c.req.param("id"));
    if (!job) return c.html(actionResult("No such job.", false), 404);
    return c.html(<BulkFollower job={job} />);
  });
  app.get("/bulk/jobs/:id/live", async (c) => {
    const bulk = deps.services.bulk;
    const id = c.req.param("id");
    if (!bulk || !(await bulk.get(id))) return c.text("no such job", 404);
    const head = sseHeadOnly(c);
    if (head) return head;
    return streamSSE(c, async (stream) => {
      await new Promise<void>((resolve) => {
        let following: { stop(): void } | null = null;
        let ended = false;
        const end = () => {
          ended = true;
          following?.stop();
          resolve();
        };
        stream.onAbort(end);
        void bulk.follow(id, (job) => {
          void stream.writeSSE({ event: "progress", data: renderToString(<BulkProgress job={job} />) });
          if (job.state !== "running") void stream.writeSSE({ event: "end", data: job.state }).then(end, end);
        }).then((f) => {
          following = f;
          if (ended) f.stop();
        }, end);
      });
    });
  });
}
