import type { AttemptSummary } from "../domain/delivery-event-views.ts";
import type { OrderedLineViewSchema, SubscriptionViewSchema } from "../runtime/subscription-view.ts";
import type { z } from "zod";
import { Page, StateBadge, Time } from "./layout.tsx";
import { MachineDiagram } from "./machine-diagram.tsx";
import type { MachineLayout } from "./machine-layout.ts";
import { deliveryPath } from "./delivery-page.tsx";
import type { ReplayJob } from "./replay-jobs.ts";
import { CONSOLE_PATH } from "./session.ts";

/** Subscriptions: the list, and one subscription with its machine, its health, its actions. */

type SubscriptionView = z.infer<typeof SubscriptionViewSchema>;
type OrderedLine = z.infer<typeof OrderedLineViewSchema>;

export const SUBSCRIPTIONS_PATH = `${CONSOLE_PATH}/subscriptions`;
export const subscriptionPath = (id: string) => `${SUBSCRIPTIONS_PATH}/${encodeURIComponent(id)}`;

export function SubscriptionsPage({ rows, state, csrf }: { rows: SubscriptionView[]; state: string; csrf: string }) {
  return (
    <Page title="Subscriptions" csrf={csrf} section="subscriptions">
      <h1>Subscriptions</h1>
      <form method="get" action={SUBSCRIPTIONS_PATH} class="card filters">
        <label>
          State
          <select name="state">
            <option value="">any</option>
            {["pending-verification", "active", "paused", "disabled", "expired"].map((s) => (
              <option value={s} selected={s === state}>{s}</option>
            ))}
          </select>
        </label>
        <div class="actions">
          <button type="submit">Filter</button>
        </div>
      </form>
      <div class="card scroll">
        {rows.length === 0 ? <p class="muted">No subscription.</p> : (
          <table class="list">
            <thead>
              <tr>
                <th>Subscription</th>
                <th>State</th>
                <th>Topic</th>
                <th>Target</th>
                <th>Why</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((row) => (
                <tr data-subscription={row.id}>
                  <td class="id">
                    <a href={subscriptionPath(row.id)}>{row.id}</a>
                  </td>
                  <td>
                    <StateBadge state={row.state} />
                  </td>
                  <td class="wrap">{row.topic}</td>
                  <td class="wrap">{row.url}</td>
                  <td class="wrap muted">{row.status_message ?? ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
    </Page>
  );
}

type DetailProps = {
  view: SubscriptionView;
  attempts: AttemptSummary[];
  layout: MachineLayout;
  /** An ordered subscription's line (the API's ordered_line); null for others. */
  line: OrderedLine | null;
};

export function SubscriptionPage(props: DetailProps & { csrf: string }) {
  return (
    <Page title={props.view.id} csrf={props.csrf} section="subscriptions">
      <h1 class="id">{props.view.id}</h1>
      <SubscriptionPanel {...props} />
    </Page>
  );
}

function successRate(attempts: AttemptSummary[]): string {
  if (attempts.length === 0) return "no attempt yet";
  const ok = attempts.filter((a) => a.outcome === "succeeded").length;
  return `${Math.round((100 * ok) / attempts.length)}% of the last ${attempts.length} attempts`;
}

/** Swapped whole after an action, so state, actions and diagram agree. */
function LineSummary({ line }: { line: OrderedLine }) {
  return (
    <>
      <dt>Ordered line</dt>
      <dd id="ordered-line" data-waiting={line.waiting}>
        {line.head
          ? (
            <>
              head <a class="id" href={deliveryPath(line.head.delivery_id)}>{line.head.delivery_id}</a>{" "}
              <StateBadge state={line.head.state} />, {line.waiting} waiting behind it
            </>
          )
          : <>no event yet, {line.waiting} waiting</>}
      </dd>
    </>
  );
}

export function SubscriptionPanel({ view, attempts, layout, line }: DetailProps) {
  const base = subscriptionPath(view.id);
  const active = view.state === "active";
  const canActivate = ["paused", "disabled"].includes(view.state);
  return (
    <div id="subscription" data-state={view.state}>
      <dl class="summary card">
        <dt>State</dt>
        <dd>
          <StateBadge state={view.state} />{" "}
          {view.status_message ? <span class="muted">{view.status_message}</span> : null}
        </dd>
        <dt>Topic</dt>
        <dd class="wrap">{view.topic}</dd>
        <dt>Target</dt>
        <dd class="wrap">{view.url}</dd>
        <dt>Event types</dt>
        <dd>{view.event_types?.join(", ") ?? "all"}</dd>
        <dt>Signing</dt>
        <dd>{view.dialect}</dd>
        <dt>Success</dt>
        <dd>{successRate(attempts)}</dd>
        {line ? <LineSummary line={line} /> : null}
        <dt>Failures in a row</dt>
        <dd>{view.consecutive_failures}</dd>
        {view.owner
          ? (
            <>
              <dt>Owner</dt>
              <dd>{view.owner}</dd>
            </>
          )
          : null}
        <dt>Created</dt>
        <dd>
          <Time at={view.created_at} />
        </dd>
        <dt>Updated</dt>
        <dd>
          <Time at={view.updated_at} />
        </dd>
        <dt>Deliveries</dt>
        <dd>
          <a href={`${CONSOLE_PATH}/deliveries?subscription=${encodeURIComponent(view.id)}`}>
            this subscription's deliveries
          </a>
        </dd>
      </dl>
      <div class="actions">
        <button
          type="button"
          hx-post={`${base}/deactivate`}
          hx-confirm={`Deactivate ${view.id}? Its events are not delivered until it is activated again.`}
          hx-target="#subscription"
          hx-swap="outerHTML"
          disabled={!active}
        >
          Deactivate
        </button>
        <button
          type="button"
          hx-post={`${base}/activate`}
          hx-target="#subscription"
          hx-swap="outerHTML"
          disabled={!canActivate}
        >
          Activate
        </button>
        <button
          type="button"
          class="secondary"
          hx-post={`${base}/rotate-secret`}
          hx-confirm="Sign with a new secret? The old one keeps signing for 24 hours."
          hx-target="#secret"
          hx-swap="innerHTML"
          disabled={view.dialect === "plain" || view.state === "unsubscribed"}
        >
          Rotate secret
        </button>
        <span id="action-result" role="status"></span>
      </div>
      <div id="secret"></div>
      <section>
        <div class="card">
          <h2>Machine</h2>
          <MachineDiagram layout={layout} marks={{ current: view.state }} />
        </div>
        <div class="card">
          <h2>Replay a time window</h2>
          <form hx-post={`${base}/replay`} hx-target="#replay" hx-swap="innerHTML" class="stack">
            <label>
              From (UTC) <input type="datetime-local" name="since" required step="1" />
            </label>
            <label>
              Until (UTC, empty: now) <input type="datetime-local" name="until" step="1" />
            </label>
            <button type="submit" disabled={!active}>Replay</button>
          </form>
          <div id="replay"></div>
        </div>
      </section>
      <section class="card scroll">
        <h2>Recent attempts</h2>
        {attempts.length === 0 ? <p class="muted">None yet.</p> : (
          <table class="list">
            <thead>
              <tr>
                <th>At</th>
                <th>Delivery</th>
                <th>#</th>
                <th>Outcome</th>
                <th>Status</th>
                <th>Latency</th>
                <th>Error</th>
              </tr>
            </thead>
            <tbody>
              {attempts.map((a) => (
                <tr>
                  <td>
                    <Time at={a.at} />
                  </td>
                  <td class="id">
                    <a href={deliveryPath(a.delivery_id)}>{a.delivery_id}</a>
                  </td>
                  <td>{a.attempt}</td>
                  <td>
                    <span class={`badge o-${a.outcome}`}>{a.outcome}</span>
                  </td>
                  <td>{a.response?.status ?? "—"}</td>
                  <td>{Math.round(a.latency_ms)} ms</td>
                  <td class="wrap">{a.error ?? ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}

export function NewSecret({ secret, until }: { secret: string; until: string }) {
  return (
    <div class="card" role="status">
      <p>
        The new signing secret, shown this once; copy it now. The old secret keeps signing until <Time at={until} />.
      </p>
      <p class="secret" id="new-secret">{secret}</p>
    </div>
  );
}

export function ReplayProgressView({ job }: { job: ReplayJob }) {
  const { events, deliveries, atMost } = job.progress;
  return (
    <div id="replay-progress" data-replay-state={job.state}>
      <progress
        class="progress"
        max={Math.max(atMost, 1)}
        value={job.state === "running" ? events : Math.max(atMost, 1)}
      />
      <p>
        {job.state === "running" ? "Replaying…" : job.state === "finished" ? "Done." : `Failed: ${job.error}`} {events}
        {" "}
        events, {deliveries} new deliveries{job.truncated ? " (stopped at the replay limit)" : ""}.
      </p>
    </div>
  );
}

export function ReplayFollower({ job }: { job: ReplayJob }) {
  return (
    <div
      hx-ext="sse"
      sse-connect={`${CONSOLE_PATH}/replays/${encodeURIComponent(job.id)}/live`}
      sse-swap="progress"
      sse-close="end"
      hx-swap="innerHTML"
    >
      <ReplayProgressView job={job} />
    </div>
  );
}
