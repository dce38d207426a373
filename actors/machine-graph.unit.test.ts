import { createMachine } from "xstate";
import { describe, expect, it } from "vitest";
import { deliveryMachine } from "./delivery.machine.ts";
import { machineConfigJson } from "./machine-config-json.ts";
import { describeMachine } from "./machine-graph.ts";
import { machineMermaid } from "./machine-mermaid.ts";
import { subscriptionMachine } from "./subscription.machine.ts";

// The descriptions a visualiser reads (GET /api/v1/machines/<name>), each drawn from the machine definition.

const delivery = describeMachine(deliveryMachine);
const subscription = describeMachine(subscriptionMachine);
const from = (graph: typeof delivery, state: string) => graph.transitions.filter((t) => t.from === state);

describe("the machine graph says what the machine does", () => {
  it("a delivery's cancelled state records a late attempt's start and outcome and stays cancelled", () => {
    expect(from(delivery, "cancelled").map(({ event, to, internal }) => ({ event, to, internal }))).toEqual([
      { event: "delivery.retry-requested", to: "pending", internal: false },
      { event: "attempt.started", to: "cancelled", internal: true },
      { event: "attempt.succeeded", to: "cancelled", internal: true },
      { event: "attempt.failed", to: "cancelled", internal: true },
    ]);
    expect(delivery.states.find((s) => s.name === "cancelled")!.description).toMatch(/stays cancelled/);
  });

  it("failed is left only by a manual retry, and delivered not at all", () => {
    expect(from(delivery, "failed").map((t) => [t.event, t.to])).toEqual([["delivery.retry-requested", "pending"]]);
    expect(from(delivery, "delivered")).toEqual([]);
    expect(delivery.states.filter((s) => s.final).map((s) => s.name)).toEqual(["delivered"]);
    expect(delivery.states.find((s) => s.name === "failed")!.description).toMatch(/only a manual retry leaves it/);
  });

  it("every transition goes to a state, and every state is described", () => {
    for (const graph of [delivery, subscription]) {
      const names = graph.states.map((s) => s.name);
      for (const transition of graph.transitions) expect(names, JSON.stringify(transition)).toContain(transition.to);
      for (const state of graph.states) expect(state.description, state.name).toBeTruthy();
    }
  });

  it("a subscription can be unsubscribed from every state but its final one, and passes verification when it needs none", () => {
    const unsubscribing = subscription.transitions.filter((t) => t.event === "subscription.unsubscribed");
    expect(unsubscribing.map((t) => t.from)).toEqual([
      "pending-verification",
      "active",
      "paused",
      "disabled",
      "expired",
    ]);
    expect(unsubscribing.every((t) => t.to === "unsubscribed")).toBe(true);
    expect(from(subscription, "pending-verification")).toContainEqual(
      expect.objectContaining({ event: null, to: "active", guard: "verifiedAtCreation" }),
    );
  });
});

describe("XState's own JSON of a machine", () => {
  it("is a definition XState reads back into the same states and transitions", () => {
    for (const machine of [deliveryMachine, subscriptionMachine]) {
      const json = JSON.parse(JSON.stringify(machineConfigJson(machine)));
      expect(describeMachine(createMachine(json))).toEqual(describeMachine(machine));
    }
  });
});

describe("the Mermaid stateDiagram-v2 of a machine", () => {
  it("draws the delivery machine, one edge per transition", () => {
    expect(machineMermaid(delivery)).toBe(
      [
        "stateDiagram-v2",
        "  %% the delivery machine, generated from its definition",
        '  state "in-flight" as in_flight',
        "  [*] --> pending",
        "  pending --> in_flight : attempt.started [isNextAttempt] / startAttempt",
        "  pending --> cancelled : delivery.cancel-requested",
        "  in_flight --> delivered : attempt.succeeded [isCurrentAttempt] / recordSuccess",
        "  in_flight --> failed : attempt.failed [isPermanentFailure] / giveUpPermanently",
        "  in_flight --> backoff : attempt.failed [hasAttemptsLeft] / scheduleRetry",
        "  in_flight --> failed : attempt.failed [isCurrentAttempt] / giveUpExhausted",
        "  in_flight --> cancelled : delivery.cancel-requested",
        "  backoff --> in_flight : attempt.started [isNextAttemptAndDue] / startAttempt",
        "  backoff --> cancelled : delivery.cancel-requested / stopRetrying",
        "  failed --> pending : delivery.retry-requested / startNewRound",
        "  cancelled --> pending : delivery.retry-requested / startNewRound",
        "  cancelled --> cancelled : attempt.started [isNextAttempt] / startAttempt",
        "  cancelled --> cancelled : attempt.succeeded [isCurrentAttempt] / recordLateOutcome",
        "  cancelled --> cancelled : attempt.failed [isCurrentAttempt] / recordLateOutcome",
        "  delivered --> [*]",
        "",
      ].join("\n"),
    );
  });

  it("labels the subscription machine's eventless transition and gives every transition its edge", () => {
    const text = machineMermaid(subscription);
    expect(text).toContain("  pending_verification --> active : always [verifiedAtCreation]\n");
    expect(text.split("\n").filter((line) => / --> (?!\[\*\])/.test(line) && !line.includes("[*] -->"))).toHaveLength(
      subscription.transitions.length,
    );
  });
});
