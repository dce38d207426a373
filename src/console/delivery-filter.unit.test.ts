import { describe, expect, it } from "vitest";
import { listQueryString, mayConcern, readListQuery } from "./delivery-filter.ts";

describe("the deliveries list's query", () => {
  it("reads every filter, times as UTC", () => {
    const { filter, cursor, ignored } = readListQuery({
      state: "failed",
      host: "API.Example.com",
      subscription: "sub_1",
      topic: "github.com/acme/",
      type: "push",
      since: "2026-01-02T03:04",
      until: "2026-01-03T00:00:00+01:00",
      q: " evt_1 ",
      cursor: "dlv_9",
    });
    expect(filter).toEqual({
      state: "failed",
      host: "api.example.com",
      subscription: "sub_1",
      topic: "github.com/acme/",
      eventType: "push",
      since: Date.UTC(2026, 0, 2, 3, 4),
      until: Date.UTC(2026, 0, 2, 23),
      search: "evt_1",
    });
    expect(cursor).toBe("dlv_9");
    expect(ignored).toEqual([]);
  });

  it("leaves out what it cannot use, and says so", () => {
    const { filter, ignored } = readListQuery({ state: "lost", since: "yesterday" });
    expect(filter.state).toBeUndefined();
    expect(filter.since).toBeUndefined();
    expect(ignored).toEqual(["state", "since"]);
  });

  it("writes the query back with fields replaced or dropped", () => {
    const query = { state: "failed", host: "a.example", cursor: "dlv_9", junk: "x" };
    expect(listQueryString(query)).toBe("?state=failed&host=a.example&cursor=dlv_9");
    expect(listQueryString(query, { cursor: undefined, state: "delivered" })).toBe("?state=delivered&host=a.example");
    expect(listQueryString({})).toBe("");
  });
});

describe("which changes concern an open list page", () => {
  const change = {
    id: "dlv_1",
    from: "in-flight" as const,
    state: "backoff" as const,
    seq: 9,
    targetHost: "api.example.com:8443",
    subscriptionId: "sub_1",
  };
  it("skips a change to another host or subscription, and only those", () => {
    expect(mayConcern({}, change)).toBe(true);
    expect(mayConcern({ host: "api.example.com:8443", subscription: "sub_1" }, change)).toBe(true);
    expect(mayConcern({ host: "api.example.com" }, change)).toBe(false);
    expect(mayConcern({ subscription: "sub_2" }, change)).toBe(false);
    expect(mayConcern({ state: "failed", topic: "t", eventType: "push", search: "evt_1" }, change)).toBe(true);
  });
  it("refetches when the change does not say (an older journal entry)", () => {
    expect(
      mayConcern({ host: "other.example", subscription: "sub_2" }, {
        ...change,
        targetHost: null,
        subscriptionId: null,
      }),
    )
      .toBe(true);
  });
});
