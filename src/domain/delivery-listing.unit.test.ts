import { describe, expect, it } from "vitest";
import {
  cursorKindOf,
  decodeCursor,
  encodeCursor,
  facetToken,
  facetTokens,
  filterTokens,
  hostOf,
  listingFieldsOf,
  matchesFilter,
  NO_FACET,
} from "./delivery-listing.ts";
import type { DeliveryCreated } from "./delivery-events.ts";

const created: DeliveryCreated = {
  type: "delivery.created",
  at: "2026-12-01T09:30:00.000Z",
  data: {
    id: "dlv_01J9Z3QK8Y2M4N6P8R0T2V4X6Z",
    request: {
      url: "https://CRM.example:8443/hooks?x=1",
      method: "POST",
      headers: { "hookd-topic": "crm/contacts", "hookd-event-type": "contact.created" },
      body: "",
    },
    schedule: [],
    secrets: [],
    source: "fan-out",
    subscriptionId: "sub_1",
    bodyRef: { topicSeq: 4, eventId: "evt_1" },
  },
};

describe("the delivery list's fields and tokens", () => {
  it("takes what the list shows from the created event", () => {
    expect(listingFieldsOf(created)).toEqual({
      target: "https://CRM.example:8443/hooks?x=1",
      host: "crm.example:8443",
      subscriptionId: "sub_1",
      topic: "crm/contacts",
      eventType: "contact.created",
      eventId: "evt_1",
      createdAt: "2026-12-01T09:30:00.000Z",
    });
    expect(hostOf("http://example.com:80/x")).toBe("example.com");
    expect(hostOf("not a url")).toBe("");
  });

  it("hashes any value into one fixed-length subject token, the same every time", () => {
    for (const value of ["", "a.b", "x*y>z", "with space", "ümlaut/ topic", "a".repeat(5_000)]) {
      const token = facetToken(value);
      expect(token).toMatch(/^[0-9A-HJKMNP-TV-Z]{12}$/);
      expect(facetToken(value)).toBe(token);
    }
    expect(facetToken("crm.example")).not.toBe(facetToken("crm.example:8443"));
    expect(facetToken(null)).toBe(NO_FACET);
  });

  it("gives a filter the tokens its entries carry, and leaves open what it does not name", () => {
    const fields = listingFieldsOf(created);
    const [subscription, host, topic, type] = facetTokens(fields);
    expect(filterTokens({ host: "CRM.example:8443", topic: "crm/contacts" })).toEqual([null, host, topic, null]);
    expect(filterTokens({ subscriptionId: "sub_1", eventType: "contact.created" })).toEqual([
      subscription,
      null,
      null,
      type,
    ]);
    expect(matchesFilter(fields, { host: "crm.EXAMPLE:8443", eventType: "contact.created" })).toBe(true);
    expect(matchesFilter(fields, { topic: "crm" })).toBe(false);
  });

  it("makes cursors that only it reads back, each saying what its sequence counts", () => {
    for (const seq of [1, 36, 1_000_000, Number.MAX_SAFE_INTEGER]) {
      expect(decodeCursor(encodeCursor(seq, "index"))).toEqual({ kind: "index", beforeSeq: seq });
      expect(decodeCursor(encodeCursor(seq, "search"))).toEqual({ kind: "search", beforeSeq: seq });
    }
    expect(encodeCursor(36, "index")).not.toBe(encodeCursor(36, "search"));
    for (const bad of ["", "abc", "c1.", "s1.", "c1.-5", "c1.0", "c2.10", "dlv_01J9Z3QK8Y2M4N6P8R0T2V4X6Z", "c1.ZZ"]) {
      expect(decodeCursor(bad), bad).toBeNull();
    }
    expect(cursorKindOf({})).toBe("index");
    expect(cursorKindOf({ q: "dlv_01J9Z3QK8Y2M4N6P8R0T2V4X6Z" })).toBe("search");
  });
});
