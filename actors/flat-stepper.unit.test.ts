import { describe, expect, it } from "vitest";
import { assign, createMachine, setup, transition } from "xstate";
import type { DeliveryTransition } from "../src/domain/delivery-events.ts";
import { DELIVERY_STATES, type DeliveryContext, deliveryMachine } from "./delivery.machine.ts";
import { applyDeliveryEvent, deliverySteppedFlat } from "./delivery.fold.ts";
import { flatStepperFor } from "./flat-stepper.ts";
import { cancelRequested, failed, ms, retryRequested, started, succeeded } from "./testing/delivery-journal.ts";

/** XState's own step from a state and context: the reference. Null when it refuses the event. */
function xstateStep(
  machine: typeof deliveryMachine,
  value: string,
  context: DeliveryContext,
  event: DeliveryTransition,
) {
  const snapshot = machine.resolveState({ value, context });
  const [next] = transition(machine, snapshot, event);
  return next === snapshot ? null : { value: next.value, context: next.context };
}

function contexts(): DeliveryContext[] {
  const all: DeliveryContext[] = [];
  for (const maxAttempts of [1, 2, 3]) {
    for (const attempts of [0, 1, 2, 3]) {
      for (const roundAttempts of new Set([0, 1, attempts])) {
        for (const retryAt of [null, ms(10)]) {
          for (const failureReason of [null, "exhausted" as const]) {
            all.push({
              id: "d",
              maxAttempts,
              attempts,
              roundAttempts,
              retryAt,
              inFlightSince: attempts > 0 ? ms(1) : null,
              lastStatus: attempts > 0 ? 503 : null,
              lastError: null,
              failureReason,
            });
          }
        }
      }
    }
  }
  return all;
}

/** Every shape of event the delivery machine tells apart, around a context's attempt count and retry time. */
function events(context: DeliveryContext): DeliveryTransition[] {
  const near = [context.attempts - 1, context.attempts, context.attempts + 1, context.attempts + 2].filter((n) =>
    n >= 0
  );
  return [
    ...near.flatMap((n) => [started(n, 5), started(n, 10), started(n, 15)]),
    ...near.map((n) => succeeded(n, 12)),
    ...near.flatMap((n) => [
      failed(n, 12, 20, { status: 503 }),
      failed(n, 12, 20),
      failed(n, 12, 20, { status: 410, permanent: true }),
    ]),
    retryRequested(12),
    cancelRequested(12),
  ];
}

describe("flat stepper", () => {
  it("steps the delivery machine exactly as XState does: every state, context and event shape", () => {
    let compared = 0;
    let taken = 0;
    for (const value of DELIVERY_STATES) {
      for (const context of contexts()) {
        for (const event of events(context)) {
          const reference = xstateStep(deliveryMachine, value, context, event);
          const ours = applyDeliveryEvent({ value, context }, event);
          expect(ours, `${value} ${JSON.stringify(context)} ${event.type} ${JSON.stringify(event.data)}`).toEqual(
            reference,
          );
          compared++;
          if (reference) taken++;
        }
      }
    }
    // Both kinds were exercised in numbers: steps taken and steps refused.
    expect(taken).toBeGreaterThan(500);
    expect(compared - taken).toBeGreaterThan(5_000);
  });

  it("is what the delivery fold uses: the machine stays within what it can step", () => {
    expect(deliverySteppedFlat).toBe(true);
  });

  it("leaves the input state untouched", () => {
    const context = contexts()[0]!;
    const before = JSON.stringify(context);
    applyDeliveryEvent({ value: "pending", context }, started(1, 0));
    expect(JSON.stringify(context)).toBe(before);
  });

  it("applies assigns in order, per key or whole, and takes the first transition whose guard passes", () => {
    const machine = setup({
      types: {
        context: {} as { n: number; log: string },
        events: {} as { type: "go"; by: number } | { type: "stay" } | { type: "poke" },
      },
      guards: { big: ({ event }) => event.type === "go" && event.by > 5 },
      actions: {
        add: assign({ n: ({ context, event }) => context.n + (event.type === "go" ? event.by : 0), log: "added" }),
        double: assign(({ context }) => ({ n: context.n * 2 })),
      },
    }).createMachine({
      initial: "a",
      context: { n: 1, log: "" },
      states: {
        a: {
          on: {
            go: [{ guard: "big", target: "b", actions: ["add", "double"] }, { target: "c", actions: "add" }],
            stay: { actions: "double" },
            // Chosen, it neither moves nor assigns: XState keeps its snapshot, and the step is refused.
            poke: {},
          },
        },
        b: { type: "final" },
        c: { on: { go: "a", stay: "c", poke: { actions: "double" } } },
      },
    });
    const step = flatStepperFor<
      "a" | "b" | "c",
      { n: number; log: string },
      { type: "go"; by: number } | { type: "stay" } | { type: "poke" }
    >(machine)!;
    expect(step).not.toBeNull();
    for (
      const [value, event] of [
        ["a", { type: "go", by: 7 }],
        ["a", { type: "go", by: 2 }],
        ["a", { type: "stay" }],
        ["b", { type: "go", by: 7 }],
        ["c", { type: "go", by: 1 }],
        ["c", { type: "stay" }],
        ["a", { type: "poke" }],
        ["c", { type: "poke" }],
        ["b", { type: "poke" }],
      ] as const
    ) {
      const context = { n: 3, log: "" };
      const snapshot = machine.resolveState({ value, context });
      const [next] = transition(machine, snapshot, event);
      const reference = next === snapshot ? null : { value: next.value, context: next.context };
      expect(step({ value, context }, event), `${value} ${JSON.stringify(event)}`).toEqual(reference);
    }
  });

  it("declines a machine that uses what it does not step, so XState steps it", () => {
    const declined = [
      createMachine({ initial: "a", states: { a: { entry: () => {}, on: { go: "b" } }, b: {} } }),
      createMachine({ initial: "a", states: { a: { initial: "x", states: { x: {} } } } }),
      createMachine({ initial: "a", on: { go: ".a" }, states: { a: {} } }),
      createMachine({ initial: "a", states: { a: { on: { "*": "b" } }, b: {} } }),
      createMachine({ initial: "a", states: { a: { on: { go: { guard: () => true, target: "b" } } }, b: {} } }),
      createMachine({ initial: "a", states: { a: { on: { go: { target: "b", actions: () => {} } } }, b: {} } }),
      createMachine({ initial: "a", states: { a: { always: "b" }, b: {} } }),
      createMachine({ initial: "a", states: { a: { after: { 1000: "b" } }, b: {} } }),
      createMachine({ initial: "a", states: { a: { on: { go: "#other" } }, b: { id: "other" } } }),
      createMachine({ type: "parallel", states: { a: {}, b: {} } }),
      createMachine({ initial: "a", states: { a: { on: { go: "b" } }, b: { type: "final", on: { go: "a" } } } }),
      createMachine({ initial: "a", states: { a: { on: { "xstate.init": "b" } }, b: {} } }),
    ];
    for (const machine of declined) expect(flatStepperFor(machine), JSON.stringify(machine.config)).toBeNull();
  });

  it("says plainly that a guard or assign reading what needs an actor cannot be stepped here", () => {
    const machine = setup({
      types: { context: {} as { who: string }, events: {} as { type: "go" } },
      actions: { name: assign({ who: ({ self }) => self.id }) },
    }).createMachine({
      initial: "a",
      context: { who: "" },
      states: { a: { on: { go: { target: "b", actions: "name" } } }, b: {} },
    });
    const step = flatStepperFor<"a" | "b", { who: string }, { type: "go" }>(machine)!;
    expect(() => step({ value: "a", context: { who: "" } }, { type: "go" })).toThrow(/no actor.*self/);
  });
});
