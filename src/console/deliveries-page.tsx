import { DELIVERY_STATES } from "../../actors/delivery.machine.ts";
import { Page, StateBadge, Time } from "./layout.tsx";
import { listQueryString } from "./delivery-filter.ts";
import { deliveryPath } from "./delivery-page.tsx";
import type { DeliveryPage } from "./services.ts";
import { CONSOLE_PATH } from "./session.ts";

/** The deliveries list: filters, counts per state, a page of rows, older pages by cursor; live through the change feed. */

export const LIST_PATH = `${CONSOLE_PATH}/deliveries`;

type Props = { query: Record<string, string>; page: DeliveryPage; ignored: string[]; bulk: boolean };

export function DeliveriesPage(props: Props & { csrf: string }) {
  const { query } = props;
  return (
    <Page title="Deliveries" csrf={props.csrf} section="deliveries">
      <h1>Deliveries</h1>
      <Filters query={query} />
      <div
        hx-ext="sse"
        sse-connect={liveUrl(query, props.page.indexSeq)}
        id="live-list"
      >
        <div sse-swap="results" hx-swap="innerHTML">
          <Results {...props} />
        </div>
      </div>
    </Page>
  );
}

/** The page's live stream: the same filter and page, starting after the index sequence the page was read at. */
function liveUrl(query: Record<string, string>, indexSeq: number): string {
  const qs = listQueryString(query);
  return `${LIST_PATH}/live${qs}${qs ? "&" : "?"}after=${indexSeq}`;
}

function Field(
  { name, label, query, type = "text", hint }: {
    name: string;
    label: string;
    query: Record<string, string>;
    type?: string;
    hint?: string;
  },
) {
  return (
    <label>
      {label}
      <input name={name} type={type} value={query[name] ?? ""} placeholder={hint} />
    </label>
  );
}

function Filters({ query }: { query: Record<string, string> }) {
  return (
    <form method="get" action={LIST_PATH} class="card filters" role="search">
      <Field name="q" label="Delivery id, event id or idempotency key" query={query} />
      <label>
        State
        <select name="state">
          <option value="">any</option>
          {DELIVERY_STATES.map((state) => <option value={state} selected={query.state === state}>{state}</option>)}
        </select>
      </label>
      <Field name="host" label="Target host" query={query} hint="api.example.com" />
      <Field name="subscription" label="Subscription" query={query} hint="sub_…" />
      <Field name="topic" label="Topic" query={query} hint="github.com/org/" />
      <Field name="type" label="Event type" query={query} hint="push" />
      <Field name="since" label="Changed from (UTC)" query={query} type="datetime-local" />
      <Field name="until" label="Changed before (UTC)" query={query} type="datetime-local" />
      <div class="actions">
        <button type="submit">Filter</button>
        <a href={LIST_PATH}>Clear</a>
      </div>
    </form>
  );
}

/** Counts, rows and pager: what the live feed sends again. */
export function Results({ query, page, ignored, bulk }: Props) {
  return (
    <div id="results">
      {ignored.length > 0 ? <p class="error">Left out of the filter (not understood): {ignored.join(", ")}.</p> : null}
      <nav class="counts" aria-label="Deliveries per state">
        {DELIVERY_STATES.map((state) => (
          <a
            href={`${LIST_PATH}${
              listQueryString(query, { state: query.state === state ? undefined : state, cursor: undefined })
            }`}
            class={query.state === state ? "active" : undefined}
          >
            <StateBadge state={state} /> <span data-count={state}>{page.counts[state]}</span>
          </a>
        ))}
      </nav>
      {bulk ? <BulkLink query={query} /> : null}
      <div class="card scroll">
        {page.rows.length === 0 ? <p class="muted">No delivery matches.</p> : (
          <table class="list">
            <thead>
              <tr>
                <th>Delivery</th>
                <th>State</th>
                <th>Target</th>
                <th>Subscription</th>
                <th>Created</th>
                <th>Updated</th>
              </tr>
            </thead>
            <tbody>
              {page.rows.map((row) => (
                <tr data-delivery={row.id}>
                  <td class="id">
                    <a href={deliveryPath(row.id)}>{row.id}</a>
                  </td>
                  <td>
                    <StateBadge state={row.state} />
                  </td>
                  <td class="wrap">{row.target}</td>
                  <td class="id">
                    {row.subscriptionId
                      ? (
                        <a href={`${CONSOLE_PATH}/subscriptions/${encodeURIComponent(row.subscriptionId)}`}>
                          {row.subscriptionId}
                        </a>
                      )
                      : "—"}
                  </td>
                  <td>
                    <Time at={row.createdAt} />
                  </td>
                  <td>
                    <Time at={row.updatedAt} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
      <div class="pager">
        {query.cursor
          ? <a href={`${LIST_PATH}${listQueryString(query, { cursor: undefined })}`}>Newest</a>
          : <span></span>}
        {page.nextCursor
          ? <a href={`${LIST_PATH}${listQueryString(query, { cursor: page.nextCursor })}`} rel="next">Older</a>
          : null}
      </div>
    </div>
  );
}

function BulkLink({ query }: { query: Record<string, string> }) {
  return (
    <p>
      <a href={`${CONSOLE_PATH}/bulk${listQueryString(query, { cursor: undefined })}`}>
        Retry or cancel every delivery matching this filter…
      </a>
    </p>
  );
}
