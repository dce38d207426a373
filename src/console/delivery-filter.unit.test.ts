import { describe, expect, it } from "vitest";
import { listQueryString, readListQuery } from "./delivery-filter.ts";

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
