// deno-lint-ignore-file no-explicit-any -- tests read hookd's JSON answers field by field
import { describe, expect, it } from "vitest";
import { api, eventually, waitForListed, waitForState } from "./support/hookd.ts";
import { hookdSuite } from "./support/suite.ts";

/**
 * GET /api/v1/deliveries and …/counts on a real hookd and nats-server: filters on what never
 * changes in a delivery (state, host, subscription, topic, event type, time), the opaque cursor while
 * deliveries change state under it, counts per state, search by id, and bad filters as problems.
 */

const suite = hookdSuite();

async function dispatch(url: string, body = "x"): Promise<string> {
  const response = await api(suite.hookd.url, `/api/v1/deliveries`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ url, body }),
  });
  expect(response.status).toBe(202);
  return ((await response.json()) as { id: string }).id;
}

async function json(path: string): Promise<any> {
  const response = await api(suite.hookd.url, path);
  expect(response.status, path).toBe(200);
  return response.json();
}

async function subscribe(topic: string, url: string, eventTypes?: string[]): Promise<string> {
  const response = await api(suite.hookd.url, "/api/v1/subscriptions", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ topic, url, dialect: "plain", ...(eventTypes ? { event_types: eventTypes } : {}) }),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

async function publish(topic: string, type: string): Promise<string> {
  const response = await api(suite.hookd.url, `/pub/${topic}`, {
    method: "POST",
    headers: { "content-type": "application/json", "hookd-event-type": type },
    body: "{}",
  });
  expect(response.status).toBe(202);
  return ((await response.json()) as { id: string }).id;
}

/** The first page of `query` once it has `count` rows (the list follows the journal a moment behind). */
function listedWhen(query: string, count: number): Promise<any[]> {
  return eventually(
    async () => {
      const { data } = await json(`/api/v1/deliveries?${query}`);
      return data.length === count ? data : undefined;
    },
    20_000,
    `${count} rows for ?${query}`,
  );
}

/** Every page of a list, following next_cursor; `between` runs after each page but the last, given the rows so far. */
async function allPages(query: string, between: (page: number, rows: any[]) => Promise<void>): Promise<any[]> {
  const rows: any[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 100; page++) {
    const body: any = await json(`/api/v1/deliveries?${query}${cursor ? `&cursor=${cursor}` : ""}`);
    rows.push(...body.data);
    cursor = body.next_cursor;
    if (cursor === null) {
      expect(body.links.next).toBeNull();
      return rows;
    }
    expect(body.links.next).toBe(`/api/v1/deliveries?${query.replaceAll(":", "%3A")}&cursor=${cursor}`);
    await between(page, rows);
  }
  throw new Error("more than 100 pages");
}

describe("listing deliveries", () => {
  it("filters by state, target host, subscription, topic, event type and time", async () => {
    const shop = await suite.startReceiver();
    const crm = await suite.startReceiver(() => ({ status: 410 }));
    const shopSub = await subscribe("listing/shop", `${shop.url}/orders`);
    const crmSub = await subscribe("listing/crm", `${crm.url}/contacts`, ["contact.created"]);
    const before = new Date();
    const orderEvents = [await publish("listing/shop", "order.paid"), await publish("listing/shop", "order.sent")];
    const contactEvent = await publish("listing/crm", "contact.created");
    const direct = await dispatch(`${shop.url}/direct`);
    await shop.waitFor(3);
    await crm.waitFor(1);

    const shopHost = new URL(shop.url).host;
    const shopRows = await listedWhen(`subscription_id=${shopSub}&state=delivered`, 2);
    expect(shopRows.map((row: any) => row.event_id).sort()).toEqual([...orderEvents].sort());
    expect(shopRows.every((row: any) => row.topic === "listing/shop" && row.host === shopHost)).toBe(true);
    expect(shopRows.every((row: any) => row.subscription_id === shopSub)).toBe(true);

    const byType = await listedWhen("event_type=order.sent", 1);
    expect(byType[0]).toMatchObject({ event_type: "order.sent", event_id: orderEvents[1] });

    // The host filter takes any case, and the port; the dispatch has no subscription, topic or type.
    const byHost = await waitForListed(suite.hookd.url, `host=${shopHost.toUpperCase()}&limit=100`, [direct]);
    expect(byHost.data).toHaveLength(3);
    const directRow = byHost.data.find((row: any) => row.id === direct);
    expect(directRow).toMatchObject({ subscription_id: null, topic: null, event_type: null, event_id: null });
    expect(directRow!.target).toBe(`${shop.url}/direct`);

    const failed = await listedWhen("topic=listing/crm&state=failed", 1);
    expect(failed[0].subscription_id).toBe(crmSub);
    expect((await json(`/api/v1/deliveries?topic=listing/crm&state=delivered`)).data).toEqual([]);
    expect((await json(`/api/v1/deliveries?q=${contactEvent}`)).data.map((row: any) => row.subscription_id)).toEqual([
      crmSub,
    ]);

    // Time: the last state change, newest first.
    const since = await json(`/api/v1/deliveries?since=${before.toISOString()}&host=${shopHost}&limit=100`);
    expect(since.data).toHaveLength(3);
    const times = since.data.map((row: any) => row.updated_at);
    expect([...times].sort().reverse()).toEqual(times);
    expect((await json(`/api/v1/deliveries?until=${before.toISOString()}&host=${shopHost}`)).data).toEqual([]);
    const later = new Date(Date.now() + 60_000).toISOString();
    expect((await json(`/api/v1/deliveries?since=${later}`)).data).toEqual([]);
  });

  it("pages with a cursor without duplicates or gaps while deliveries change state", async () => {
    const gone = await suite.startReceiver(() => ({ status: 410 }));
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) ids.push(await dispatch(`${gone.url}/p${i}`));
    for (const id of ids) await waitForState(suite.hookd.url, id, "failed");
    const host = new URL(gone.url).host;
    await waitForListed(suite.hookd.url, `state=failed&host=${host}&limit=100`, ids);

    // Between pages, retry two deliveries already shown and two not yet shown: each gets a new entry above
    // the cursor once it fails again, so it may be missed by this walk but never shown twice.
    const retried = new Set<string>();
    const rows = await allPages(`state=failed&host=${host}&limit=4`, async (page, sofar) => {
      if (page > 2) return;
      const seen = new Set(sofar.map((row) => row.id));
      const shown = [...seen].filter((id) => !retried.has(id)).slice(0, 2);
      const unseen = ids.filter((id) => !seen.has(id) && !retried.has(id)).slice(-2);
      for (const id of [...shown, ...unseen]) {
        retried.add(id);
        expect((await api(suite.hookd.url, `/api/v1/deliveries/${id}/retry`, { method: "POST" })).status).toBe(202);
      }
    });
    const listed = rows.map((row) => row.id);
    expect(new Set(listed).size).toBe(listed.length);
    for (const id of ids.filter((id) => !retried.has(id))) expect(listed).toContain(id);
    // At least the first page's round of retries happened while the walk went on.
    expect(retried.size).toBeGreaterThanOrEqual(4);
  });

  it("counts deliveries per state, for all or for a filter", async () => {
    const ok = await suite.startReceiver();
    const ids = [await dispatch(`${ok.url}/a`), await dispatch(`${ok.url}/b`)];
    await ok.waitFor(2);
    const host = new URL(ok.url).host;
    await waitForListed(suite.hookd.url, `host=${host}&state=delivered`, ids);
    const mine = await eventually(async () => {
      const body = await json(`/api/v1/deliveries/counts?host=${host}`);
      return body.counts.delivered === 2 ? body : undefined;
    });
    expect(mine).toEqual({
      counts: { pending: 0, "in-flight": 0, backoff: 0, delivered: 2, failed: 0, cancelled: 0 },
      total: 2,
      index_lag: expect.any(Number),
    });
    const all = await json("/api/v1/deliveries/counts");
    expect(all.counts.delivered).toBeGreaterThanOrEqual(2);
    expect(all.total).toBe(Object.values(all.counts as Record<string, number>).reduce((a, b) => a + b, 0));
  });

  it("finds a delivery by id, with the other filters still applied", async () => {
    const ok = await suite.startReceiver();
    const id = await dispatch(`${ok.url}/found`);
    await ok.waitFor(1);
    const found = await eventually(async () => {
      const body = await json(`/api/v1/deliveries?q=${id}`);
      return body.data[0]?.state === "delivered" ? body : undefined;
    });
    expect(found.data.map((row: any) => row.id)).toEqual([id]);
    expect((await json(`/api/v1/deliveries?q=${id}&state=failed`)).data).toEqual([]);
    expect((await json(`/api/v1/deliveries?q=dlv_00000000000000000000000000`)).data).toEqual([]);
    expect((await json(`/api/v1/deliveries?q=no-such-event`)).data).toEqual([]);
  });

  it("pages a search by event id with a cursor, newest change first, each delivery once", async () => {
    const ok = await suite.startReceiver();
    const gone = await suite.startReceiver(() => ({ status: 410 }));
    const topic = `listing/many-${crypto.randomUUID().slice(0, 8)}`;
    const subs: string[] = [];
    // Delivered from the start (no pointer in the index) and failed (a pointer): a search reads both the same way.
    for (let i = 0; i < 3; i++) subs.push(await subscribe(topic, `${ok.url}/s${i}`));
    for (let i = 0; i < 2; i++) subs.push(await subscribe(topic, `${gone.url}/s${i}`));
    const event = await publish(topic, "order.paid");
    await ok.waitFor(3);
    await gone.waitFor(2);
    await eventually(async () => {
      const { data } = await json(`/api/v1/deliveries?q=${event}&limit=100`);
      return data.filter((row: any) => row.state === "delivered" || row.state === "failed").length === 5 || undefined;
    });
    const rows = await allPages(`q=${event}&limit=2`, async () => {});
    expect(rows.map((row: any) => row.subscription_id).sort()).toEqual([...subs].sort());
    expect(rows.map((row: any) => row.state).sort()).toEqual([
      "delivered",
      "delivered",
      "delivered",
      "failed",
      "failed",
    ]);
    expect(rows.every((row: any) => row.event_id === event)).toBe(true);
    const times = rows.map((row: any) => row.updated_at);
    expect([...times].sort().reverse()).toEqual(times);
    // A search's cursor counts something else than a page's: each is refused on the other.
    const { next_cursor: searchCursor } = await json(`/api/v1/deliveries?q=${event}&limit=2`);
    await listedWhen(`topic=${topic}&limit=100`, 5);
    const { next_cursor: pageCursor } = await json(`/api/v1/deliveries?topic=${topic}&limit=2`);
    for (
      const path of [`/api/v1/deliveries?cursor=${searchCursor}`, `/api/v1/deliveries?q=${event}&cursor=${pageCursor}`]
    ) {
      const response = await api(suite.hookd.url, path);
      expect(response.status, path).toBe(400);
      expect(response.headers.get("content-type")).toContain("application/problem+json");
      const problem = await response.json();
      expect(problem.errors).toEqual([
        { field: "cursor", message: "cursor must come from a page of the same query (with q, or without)" },
      ]);
    }
  });

  it("finds the delivery an idempotency key created, by the key", async () => {
    const ok = await suite.startReceiver();
    const key = `order-7*>.${crypto.randomUUID()}`;
    const keyed = async () => {
      const response = await api(suite.hookd.url, `/api/v1/deliveries`, {
        method: "POST",
        headers: { "content-type": "application/json", "idempotency-key": key },
        body: JSON.stringify({ url: `${ok.url}/keyed`, body: "k" }),
      });
      expect(response.status).toBe(202);
      return ((await response.json()) as { id: string }).id;
    };
    const id = await keyed();
    // The same request again is the same delivery: the search still names one.
    expect(await keyed()).toBe(id);
    await dispatch(`${ok.url}/unkeyed`);
    await ok.waitFor(2);
    const found = await eventually(async () => {
      const body = await json(`/api/v1/deliveries?q=${encodeURIComponent(key)}`);
      return body.data[0]?.state === "delivered" ? body : undefined;
    });
    expect(found.data.map((row: any) => row.id)).toEqual([id]);
    expect((await json(`/api/v1/deliveries?q=${encodeURIComponent(key)}&state=failed`)).data).toEqual([]);
    expect((await json(`/api/v1/deliveries?q=${encodeURIComponent(`${key}-other`)}`)).data).toEqual([]);
  });

  it("answers bad filters with a problem that names the parameter", async () => {
    const cases: [string, RegExp][] = [
      ["state=lost", /state must be one of/],
      ["cursor=abc", /cursor must be a next_cursor value/],
      ["cursor=dlv_01J9Z3QK8Y2M4N6P8R0T2V4X6Z", /cursor must be a next_cursor value/],
      ["since=yesterday", /since must be an ISO 8601 time/],
      ["until=2026-13-45T99:00:00Z", /until must be an ISO 8601 time/],
      ["host=", /host must not be empty/],
      ["limit=0", /limit/],
      ["q=", /q must not be empty/],
      ["sort=asc", /"sort" is not a query parameter/],
    ];
    for (const [query, detail] of cases) {
      const response = await api(suite.hookd.url, `/api/v1/deliveries?${query}`);
      expect(response.status, query).toBe(400);
      expect(response.headers.get("content-type"), query).toMatch(/^application\/problem\+json/);
      expect((await response.json()).detail, query).toMatch(detail);
    }
    const counts = await api(suite.hookd.url, "/api/v1/deliveries/counts?state=failed");
    expect(counts.status).toBe(400);
    expect((await counts.json()).detail).toMatch(/"state" is not a query parameter/);
  });
});
