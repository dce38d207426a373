// deno-lint-ignore-file no-explicit-any -- tests read hookd's JSON answers field by field
import { createMachine } from "xstate";
import { describe, expect, it } from "vitest";
import { api } from "./support/hookd.ts";
import { hookdSuite } from "./support/suite.ts";

/** GET /api/v1/machines/<name> in each format a visualiser reads, over real HTTP. */

const suite = hookdSuite({ receiver: false });
const get = (path: string) => api(suite.hookd.url, path);

describe("machine descriptions for visualisers", () => {
  it("hookd's graph of the delivery machine shows cancelled keeping late outcomes, and describes each state", async () => {
    const response = await get("/api/v1/machines/delivery");
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    const graph = await response.json();
    expect(graph.transitions.filter((t: any) => t.to === null)).toEqual([]);
    expect(graph.transitions).toContainEqual({
      from: "cancelled",
      event: "attempt.failed",
      to: "cancelled",
      internal: true,
      guard: "isCurrentAttempt",
      actions: ["recordLateOutcome"],
      description: expect.stringMatching(/stays cancelled/),
    });
    expect(graph.states.find((s: any) => s.name === "failed")).toEqual({
      name: "failed",
      final: false,
      description: expect.stringMatching(/only a manual retry leaves it/),
    });
  });

  it("?format=xstate is XState's own definition JSON, which createMachine reads", async () => {
    for (const name of ["delivery", "subscription"]) {
      const response = await get(`/api/v1/machines/${name}?format=xstate`);
      expect(response.headers.get("content-type")).toMatch(/^application\/json/);
      const config = await response.json();
      expect(config.id).toBe(name);
      const machine = createMachine(config);
      const graph = await (await get(`/api/v1/machines/${name}`)).json();
      expect(Object.keys(machine.root.states)).toEqual(graph.states.map((s: any) => s.name));
    }
    const delivery = await (await get("/api/v1/machines/delivery?format=xstate")).json();
    expect(delivery.states.backoff.on["attempt.started"]).toEqual({
      guard: "isNextAttemptAndDue",
      target: "in-flight",
      actions: "startAttempt",
    });
  });

  it("?format=mermaid is stateDiagram-v2 text of the machine", async () => {
    const response = await get("/api/v1/machines/subscription?format=mermaid");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    const text = await response.text();
    expect(text.split("\n").slice(0, 4)).toEqual([
      "stateDiagram-v2",
      "  %% the subscription machine, generated from its definition",
      '  state "pending-verification" as pending_verification',
      "  [*] --> pending_verification",
    ]);
    expect(text).toContain("  disabled --> unsubscribed : subscription.unsubscribed / unsubscribe\n");
    expect(text).toContain("  unsubscribed --> [*]\n");
  });

  it("an unknown format is a 400 that lists the formats", async () => {
    const response = await get("/api/v1/machines/delivery?format=svg");
    expect(response.status).toBe(400);
    expect((await response.json()).detail).toMatch(/"hookd".*"xstate".*"mermaid"/);
  });
});
