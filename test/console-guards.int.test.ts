import { jetstreamManager } from "@nats-io/jetstream";
import { beforeAll, describe, expect, it } from "vitest";
import { adminToken, api, waitForListed, waitForState } from "./support/hookd.ts";
import { hookdSuite } from "./support/suite.ts";
import { csrfTokenOf } from "../src/console/session.ts";

/** What the console refuses over plain HTTP: ids that are no delivery id (a wildcard must never reach a subject). */

const suite = hookdSuite({ env: { HOOKD_RETRY_SCHEDULE: "10m" }, respond: () => ({ status: 500 }), connect: true });
let cookie = "";
let csrf = "";
const ids: string[] = [];

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

describe("the console's per-delivery routes", () => {
  it("answer 404 for a wildcard or any non-id, and acting on one journals nothing", async () => {
    for (const id of ["*", "%3E", "a.b", "dlv_nope"]) {
      for (const tail of ["", "/panel", "/diagram", "/live"]) {
        expect((await consoleFetch(`/console/deliveries/${id}${tail}`)).status, `${id}${tail}`).toBe(404);
      }
      for (const act of ["retry", "cancel"]) {
        const response = await consoleFetch(`/console/deliveries/${id}/${act}`, {
          method: "POST",
          headers: { "x-console-csrf": csrf },
        });
        expect(response.status, `${id}/${act}`).toBe(404);
      }
    }
    const jsm = await jetstreamManager(suite.nc);
    const info = await jsm.streams.info("HOOKD_JOURNAL", { subjects_filter: ">" });
    expect(Object.keys(info.state.subjects ?? {}).filter((subject) => /[*>]/.test(subject))).toEqual([]);
    const listed = (await (await api(suite.hookd.url, "/api/v1/deliveries")).json()) as { data: { id: string }[] };
    expect(listed.data.map((d) => d.id).sort()).toEqual([...ids].sort());
  });
});
