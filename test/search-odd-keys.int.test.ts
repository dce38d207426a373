// deno-lint-ignore-file no-explicit-any -- tests read hookd's JSON answers field by field
import { describe, expect, it } from "vitest";
import { api, eventually } from "./support/hookd.ts";
import { hookdSuite } from "./support/suite.ts";

/**
 * Search (`q`) now takes an idempotency key, and a key is any 1 to 255 visible ASCII characters, so
 * `*`, `>` and `.` are ordinary in one; the console's search box takes any text. Every such search
 * must answer 200 with the delivery the key created (or none), never an error: the text also goes to
 * the event-id lookup, whose subject is built from it as given.
 */

const suite = hookdSuite();

async function search(q: string): Promise<{ status: number; body: any }> {
  const response = await api(suite.hookd.url, `/api/v1/deliveries?q=${encodeURIComponent(q)}`);
  return { status: response.status, body: await response.json() };
}

describe("search by odd text", () => {
  it("answers a search for text with a space with no rows, not an error", async () => {
    const { status, body } = await search("order 123");
    expect(status, JSON.stringify(body)).toBe(200);
    expect(body.data).toEqual([]);
  });

  for (const key of ["*", ">", "order.*", "a.>"]) {
    it(`finds the delivery created with the key ${JSON.stringify(key)}`, async () => {
      const response = await api(suite.hookd.url, `/api/v1/deliveries`, {
        method: "POST",
        headers: { "content-type": "application/json", "idempotency-key": key },
        body: JSON.stringify({ url: `${suite.receiver.url}/k`, body: "k" }),
      });
      expect(response.status).toBe(202);
      const { id } = (await response.json()) as { id: string };
      const found = await eventually(async () => {
        const { status, body } = await search(key);
        expect(status, JSON.stringify(body)).toBe(200);
        return body.data.length > 0 ? body.data : undefined;
      });
      expect(found.map((row: any) => row.id)).toEqual([id]);
    });
  }
});
