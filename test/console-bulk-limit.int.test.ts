import { beforeAll, describe, expect, it } from "vitest";
import { adminToken, api, waitForListed, waitForState } from "./support/hookd.ts";
import { hookdSuite } from "./support/suite.ts";
import { csrfTokenOf } from "../src/console/session.ts";

/** The console's bulk page past HOOKD_BULK_MAX: said plainly before anything starts, and a start refused with a 4xx. */

const suite = hookdSuite({
  env: { HOOKD_RETRY_SCHEDULE: "10m", HOOKD_BULK_MAX: "2" },
  respond: () => ({ status: 500 }),
});
let cookie = "";
let csrf = "";

const consoleFetch = (path: string, init: RequestInit = {}) =>
  fetch(suite.hookd.url + path, { ...init, headers: { ...init.headers as object, cookie }, redirect: "manual" });

beforeAll(async () => {
  const token = await adminToken();
  const signedIn = await fetch(`${suite.hookd.url}/console/sign-in`, {
    method: "POST",
    body: new URLSearchParams({ token }),
    redirect: "manual",
  });
  cookie = signedIn.headers.get("set-cookie")!.split(";")[0]!;
  csrf = await csrfTokenOf(token);
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    const response = await api(suite.hookd.url, "/dispatch", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ _url: `${suite.receiver.url}/t${i}`, n: i }),
    });
    ids.push(((await response.json()) as { id: string }).id);
  }
  for (const id of ids) await waitForState(suite.hookd.url, id, "backoff");
  await waitForListed(suite.hookd.url, "", ids);
}, 60_000);

describe("the console's bulk page past HOOKD_BULK_MAX", () => {
  it("says the filter matches too many instead of offering a job that would fail", async () => {
    const text = await (await consoleFetch("/console/bulk?state=backoff")).text();
    expect(text).toContain("matches more than 2 deliveries");
    expect(text).not.toContain('id="bulk-count"');
  });

  it("refuses a start with a 422 and words, not a 500", async () => {
    const response = await consoleFetch("/console/bulk/cancel?state=backoff", {
      method: "POST",
      headers: { "x-console-csrf": csrf, "hx-request": "true" },
    });
    expect(response.status).toBe(422);
    expect(await response.text()).toContain("Narrow the filter");
  });
});
