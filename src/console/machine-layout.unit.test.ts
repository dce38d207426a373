import { describe, expect, it } from "vitest";
import { deliveryMachine } from "../../actors/delivery.machine.ts";
import { describeMachine } from "../../actors/machine-graph.ts";
import { subscriptionMachine } from "../../actors/subscription.machine.ts";
import { MachineDiagram } from "./machine-diagram.tsx";
import { layOutMachine } from "./machine-layout.ts";

describe("a machine's laid-out diagram", () => {
  for (const machine of [deliveryMachine, subscriptionMachine]) {
    const graph = describeMachine(machine);
    const layout = layOutMachine(graph);

    it(`${graph.id}: draws every state inside the drawing`, () => {
      expect(layout.states.map((s) => s.name)).toEqual(graph.states.map((s) => s.name));
      for (const state of layout.states) {
        expect(state.x - state.width / 2).toBeGreaterThanOrEqual(layout.x);
        expect(state.y - state.height / 2).toBeGreaterThanOrEqual(layout.y);
        expect(state.x + state.width / 2).toBeLessThanOrEqual(layout.x + layout.width);
        expect(state.y + state.height / 2).toBeLessThanOrEqual(layout.y + layout.height);
      }
    });

    it(`${graph.id}: keeps every transition's label inside the drawing`, () => {
      for (const edge of layout.edges) {
        expect(edge.label.x).toBeGreaterThan(layout.x);
        expect(edge.label.x).toBeLessThan(layout.x + layout.width);
      }
    });

    it(`${graph.id}: has an edge, with its event, for every transition between two states`, () => {
      for (const t of graph.transitions.filter((t) => t.from !== t.to)) {
        const edge = layout.edges.find((e) => e.from === t.from && e.to === t.to);
        expect(edge?.events).toContain(t.event ?? "(always)");
        expect(edge!.points.length).toBeGreaterThan(1);
      }
    });
  }

  it("marks the current state and the transition taken, and escapes nothing it should not", () => {
    const layout = layOutMachine(describeMachine(deliveryMachine));
    const svg = String(
      MachineDiagram({ layout, marks: { current: "backoff", taken: { from: "in-flight", to: "backoff" } } }),
    );
    expect(svg).toContain('data-current-state="backoff"');
    expect(svg).toMatch(/<g class="state current" data-state="backoff">/);
    expect(svg).toMatch(/<g class="edge taken" data-from="in-flight" data-to="backoff">/);
    expect(svg.match(/class="state current"/g)).toHaveLength(1);
    expect(svg).not.toContain("style=");
  });
});
