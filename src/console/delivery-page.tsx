import type { AttemptView, DeliveryView } from "../runtime/delivery-view.ts";
import { Page, StateBadge, Time } from "./layout.tsx";
import { MachineDiagram } from "./machine-diagram.tsx";
import type { MachineLayout } from "./machine-layout.ts";
import type { ReplayedPoint } from "./delivery-replay.ts";
import { CONSOLE_PATH } from "./session.ts";

/** One delivery: its machine (live), its journal as a timeline to step through, its attempts, retry and cancel. */

const SIGNATURE_HEADERS = new Set([
  "webhook-id",
  "webhook-timestamp",
  "webhook-signature",
  "x-hub-signature",
  "x-hub-signature-256",
]);

export const deliveryPath = (id: string) => `${CONSOLE_PATH}/deliveries/${encodeURIComponent(id)}`;

export function DeliveryPage(
  props: { view: DeliveryView; layout: MachineLayout; point: ReplayedPoint; csrf: string; lastSeq: number },
) {
  const { view } = props;
  const base = deliveryPath(view.id);
  return (
    <Page title={view.id} csrf={props.csrf} section="deliveries">
      <h1 class="id">{view.id}</h1>
      {/* Each journal change arrives as the panel rendered after it, so no change is lost between two fetches. */}
      <div hx-ext="sse" sse-connect={`${base}/live?after=${props.lastSeq}`} id="live">
        <div sse-swap="panel" hx-swap="innerHTML">
          <DeliveryPanel {...props} />
        </div>
      </div>
    </Page>
  );
}

/** The part of the page that follows the journal: sent again, rendered, whenever the delivery's journal grows. */
export function DeliveryPanel(
  { view, layout, point }: { view: DeliveryView; layout: MachineLayout; point: ReplayedPoint },
) {
  return (
    <div id="panel" data-state={view.state}>
      <Summary view={view} />
      <Actions view={view} />
      <section class="diagram-and-timeline">
        <div class="card">
          <h2>Machine</h2>
          <div id="diagram">
            <DiagramAt layout={layout} point={point} total={view.history.length - 1} id={view.id} />
          </div>
        </div>
        <div class="card">
          <h2>Journal</h2>
          <Timeline view={view} />
        </div>
      </section>
      <section class="card">
        <h2>Attempts</h2>
        {view.attempts.length === 0
          ? <p class="muted">No attempt yet.</p>
          : view.attempts.map((a) => <Attempt attempt={a} />)}
      </section>
    </div>
  );
}

function Summary({ view }: { view: DeliveryView }) {
  return (
    <dl class="summary card">
      <dt>State</dt>
      <dd>
        <StateBadge state={view.state} />
        {view.failure_reason ? <span class="muted">({view.failure_reason})</span> : null}
      </dd>
      <dt>Target</dt>
      <dd class="wrap">{view.method} {view.target}</dd>
      <dt>Attempts</dt>
      <dd>{view.attempts_made} (this round allows {view.max_attempts})</dd>
      {view.next_attempt_at
        ? (
          <>
            <dt>Next attempt</dt>
            <dd>
              <span class="countdown" data-countdown={view.next_attempt_at}>
                at <Time at={view.next_attempt_at} />
              </span>
            </dd>
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
      {view.subscription_id
        ? (
          <>
            <dt>Subscription</dt>
            <dd>
              <a href={`${CONSOLE_PATH}/subscriptions/${encodeURIComponent(view.subscription_id)}`}>
                {view.subscription_id}
              </a>
            </dd>
          </>
        )
        : null}
      {view.event_id
        ? (
          <>
            <dt>Event</dt>
            <dd>
              <a href={`${CONSOLE_PATH}/events/${encodeURIComponent(view.event_id)}`}>{view.event_id}</a>
            </dd>
          </>
        )
        : null}
      {view.idempotency_key
        ? (
          <>
            <dt>Idempotency key</dt>
            <dd class="wrap">{view.idempotency_key}</dd>
          </>
        )
        : null}
      <dt>Signed</dt>
      <dd>{view.signed ? "yes" : "no"}</dd>
    </dl>
  );
}

const RETRYABLE = new Set(["failed", "cancelled", "pending"]);
const CANCELLABLE = new Set(["pending", "in-flight", "backoff"]);

function Actions({ view }: { view: DeliveryView }) {
  const base = deliveryPath(view.id);
  return (
    <div class="actions">
      <button
        type="button"
        hx-post={`${base}/retry`}
        hx-confirm={`Retry ${view.id}? A new round of attempts starts.`}
        hx-target="#action-result"
        hx-swap="innerHTML"
        disabled={!RETRYABLE.has(view.state)}
      >
        Retry
      </button>
      <button
        type="button"
        class="danger"
        hx-post={`${base}/cancel`}
        hx-confirm={`Cancel ${view.id}? No further attempt will be made.`}
        hx-target="#action-result"
        hx-swap="innerHTML"
        disabled={!CANCELLABLE.has(view.state)}
      >
        Cancel
      </button>
      <span id="action-result" role="status"></span>
    </div>
  );
}

export function DiagramAt(
  { layout, point, total, id }: { layout: MachineLayout; point: ReplayedPoint; total: number; id: string },
) {
  const past = point.upto < total;
  return (
    <>
      <MachineDiagram layout={layout} marks={{ current: point.state, taken: point.taken }} />
      <p class="caption" data-upto={point.upto}>
        {past
          ? (
            <>
              As it was after journal entry {point.upto + 1} of {total + 1}.{" "}
              <button
                type="button"
                class="link"
                hx-get={`${deliveryPath(id)}/diagram`}
                hx-target="#diagram"
                hx-swap="innerHTML"
              >
                Back to now
              </button>
            </>
          )
          : <>Now: {point.state}</>}
      </p>
    </>
  );
}

function Timeline({ view }: { view: DeliveryView }) {
  const base = deliveryPath(view.id);
  return (
    <ol class="timeline">
      {view.history.map((entry, index) => (
        <li data-entry={index}>
          <button
            type="button"
            class="entry"
            hx-get={`${base}/diagram?upto=${index}`}
            hx-target="#diagram"
            hx-swap="innerHTML"
            aria-label={`Show the machine after ${entry.type}`}
          >
            <span class="event">{entry.type}</span> → <StateBadge state={entry.state} />
            <Time at={entry.at} />
          </button>
          <details>
            <summary>data</summary>
            <pre>{JSON.stringify(entry.data, null, 2)}</pre>
          </details>
        </li>
      ))}
    </ol>
  );
}

function Headers({ headers, highlight = false }: { headers: Record<string, string>; highlight?: boolean }) {
  const entries = Object.entries(headers);
  if (entries.length === 0) return <p class="muted">none</p>;
  return (
    <table class="headers">
      <tbody>
        {entries.map(([name, value]) => (
          <tr class={highlight && SIGNATURE_HEADERS.has(name.toLowerCase()) ? "signature" : undefined}>
            <th scope="row">{name}</th>
            <td class="wrap">{value}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function signatureHeaders(attempt: AttemptView): Record<string, string> {
  const headers = attempt.request?.headers ?? {};
  return Object.fromEntries(Object.entries(headers).filter(([name]) => SIGNATURE_HEADERS.has(name.toLowerCase())));
}

function Attempt({ attempt }: { attempt: AttemptView }) {
  const signatures = signatureHeaders(attempt);
  return (
    <details class={`attempt o-${attempt.outcome}`}>
      <summary>
        #{attempt.attempt} <span class={`badge o-${attempt.outcome}`}>{attempt.outcome}</span>{" "}
        {attempt.response ? `HTTP ${attempt.response.status}` : attempt.error ?? ""}{" "}
        {attempt.latency_ms !== null ? <span class="muted">{Math.round(attempt.latency_ms)} ms</span> : null}{" "}
        <span class="muted">on {attempt.worker ?? "?"}</span>
      </summary>
      <dl class="summary">
        <dt>Started</dt>
        <dd>
          <Time at={attempt.started_at} />
        </dd>
        <dt>Finished</dt>
        <dd>
          <Time at={attempt.finished_at} />
        </dd>
        {attempt.error
          ? (
            <>
              <dt>Error</dt>
              <dd class="wrap">{attempt.error}</dd>
            </>
          )
          : null}
        {attempt.retry_at
          ? (
            <>
              <dt>Retry at</dt>
              <dd>
                <Time at={attempt.retry_at} />
              </dd>
            </>
          )
          : null}
      </dl>
      {Object.keys(signatures).length > 0
        ? (
          <>
            <h3>Signature headers sent</h3>
            <Headers headers={signatures} />
          </>
        )
        : null}
      {attempt.request
        ? (
          <>
            <h3>Request headers</h3>
            <Headers headers={attempt.request.headers} highlight />
          </>
        )
        : null}
      {attempt.response
        ? (
          <>
            <h3>Response: {attempt.response.status}</h3>
            <Headers headers={attempt.response.headers} />
            <pre class="body">{attempt.response.body}{attempt.response.body_truncated ? "\n… (truncated)" : ""}</pre>
          </>
        )
        : null}
    </details>
  );
}
