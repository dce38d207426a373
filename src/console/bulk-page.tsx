import { Page } from "./layout.tsx";
import { listQueryString } from "./delivery-filter.ts";
import { LIST_PATH } from "./deliveries-page.tsx";
import type { BulkJob } from "./services.ts";
import { CONSOLE_PATH } from "./session.ts";

/** Bulk retry or cancel of every delivery a filter matches: the count first, then a background job with progress. */

export const BULK_PATH = `${CONSOLE_PATH}/bulk`;

export function BulkPage(
  { query, count, refusal, csrf }: {
    query: Record<string, string>;
    count: number | null;
    /** Why the page will not count or act on this filter. */
    refusal?: string;
    csrf: string;
  },
) {
  const qs = listQueryString(query, { cursor: undefined });
  return (
    <Page title="Bulk actions" csrf={csrf} section="deliveries">
      <h1>Bulk actions</h1>
      <p>
        Filter:{" "}
        <a href={`${LIST_PATH}${qs}`}>
          {qs ? decodeURIComponent(qs.slice(1)).replaceAll("&", ", ") : "every delivery"}
        </a>
      </p>
      {refusal
        ? <p class="error" id="bulk-refused">{refusal}</p>
        : count === null
        ? <p class="error">Bulk actions need the bulk-job service, which this hookd does not run.</p>
        : (
          <section class="card">
            <p>
              <strong id="bulk-count">{count}</strong> deliveries match this filter now.
            </p>
            <div class="actions">
              {(["retry", "cancel"] as const).map((action) => (
                <button
                  type="button"
                  class={action === "cancel" ? "danger" : undefined}
                  hx-post={`${BULK_PATH}/${action}${qs}`}
                  hx-confirm={`${
                    action === "retry" ? "Retry" : "Cancel"
                  } the ${count} deliveries matching this filter?`}
                  hx-target="#bulk-job"
                  hx-swap="innerHTML"
                  disabled={count === 0}
                >
                  {action === "retry" ? "Retry all" : "Cancel all"}
                </button>
              ))}
            </div>
            <div id="bulk-job"></div>
          </section>
        )}
    </Page>
  );
}

export function BulkProgress({ job }: { job: BulkJob }) {
  return (
    <div id="bulk-progress" data-job-state={job.state} data-done={job.done}>
      <progress class="progress" max={Math.max(job.total, 1)} value={job.done} />
      <p>
        {job.action === "retry" ? "Retried" : "Cancelled"} <span id="bulk-done">{job.done}</span> of {job.total}
        {job.refused > 0 ? ` (${job.refused} refused by their state)` : ""} · {job.state}
      </p>
      <p class="muted" id="bulk-instance" data-taken-over={job.takenOverFrom.length > 0 ? "yes" : "no"}>
        Runs on {job.instance}
        {job.takenOverFrom.length > 0 ? ` · taken over from ${job.takenOverFrom.join(", then ")} when it stopped` : ""}
      </p>
      {job.state === "running"
        ? (
          <button
            type="button"
            class="secondary"
            hx-post={`${BULK_PATH}/jobs/${job.id}/cancel`}
            hx-target="#bulk-job"
            hx-swap="innerHTML"
          >
            Stop the job
          </button>
        )
        : null}
    </div>
  );
}

export function BulkFollower({ job }: { job: BulkJob }) {
  return (
    <div
      hx-ext="sse"
      sse-connect={`${BULK_PATH}/jobs/${job.id}/live`}
      sse-swap="progress"
      sse-close="end"
      hx-swap="innerHTML"
    >
      <BulkProgress job={job} />
    </div>
  );
}
