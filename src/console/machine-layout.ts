import dagre from "@dagrejs/dagre";
import type { MachineGraph } from "../../actors/machine-graph.ts";

/**
 * A machine's diagram laid out once by dagre: a box per state and one edge per pair of states,
 * labelled with every event that takes it. The machine definition is the only source (through
 * describeMachine), so the drawing cannot drift from what the machine does.
 */

export type LaidOutState = {
  name: string;
  final: boolean;
  description: string | null;
  x: number;
  y: number;
  width: number;
  height: number;
};
export type LaidOutEdge = {
  from: string;
  to: string;
  events: string[];
  /** The path's points, first at the source box, last at the target's. */
  points: { x: number; y: number }[];
  label: { x: number; y: number };
};
export type MachineLayout = {
  id: string;
  /** The drawing's box (its top left may be below 0: dagre can put a wide label past its margin). */
  x: number;
  y: number;
  width: number;
  height: number;
  states: LaidOutState[];
  edges: LaidOutEdge[];
};

const CHAR_WIDTH = 7.5;
const STATE_HEIGHT = 34;
const LINE_HEIGHT = 14;

/** The events that move between two states, the self-loops (internal transitions) left out: they change no state. */
function edgesOf(graph: MachineGraph): Map<string, { from: string; to: string; events: string[] }> {
  const edges = new Map<string, { from: string; to: string; events: string[] }>();
  for (const transition of graph.transitions) {
    if (transition.from === transition.to) continue;
    const key = `${transition.from}\u0000${transition.to}`;
    const edge = edges.get(key) ?? { from: transition.from, to: transition.to, events: [] };
    const event = transition.event ?? "(always)";
    if (!edge.events.includes(event)) edge.events.push(event);
    edges.set(key, edge);
  }
  return edges;
}

export function layOutMachine(graph: MachineGraph): MachineLayout {
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: "TB", nodesep: 40, ranksep: 56, edgesep: 16, marginx: 0, marginy: 0 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const state of graph.states) {
    g.setNode(state.name, { width: Math.max(90, state.name.length * CHAR_WIDTH + 28), height: STATE_HEIGHT });
  }
  const edges = [...edgesOf(graph).entries()];
  for (const [key, edge] of edges) {
    const width = Math.max(...edge.events.map((event) => event.length)) * 6.2;
    g.setEdge(edge.from, edge.to, { width, height: edge.events.length * LINE_HEIGHT, labelpos: "c" }, key);
  }
  dagre.layout(g);
  const states = graph.states.map((state) => {
    const node = g.node(state.name);
    return { ...state, x: node.x, y: node.y, width: node.width, height: node.height };
  });
  const laidEdges = edges.map(([key, edge]) => {
    const laid = g.edge({ v: edge.from, w: edge.to, name: key });
    return { ...edge, points: laid.points ?? [], label: { x: laid.x ?? 0, y: laid.y ?? 0 } };
  });
  return { id: graph.id, ...boundsOf(states, laidEdges), states, edges: laidEdges };
}

const PADDING = 16;

/** Everything drawn, labels included (their width estimated as layOutMachine gave it to dagre). */
function boundsOf(states: LaidOutState[], edges: LaidOutEdge[]) {
  const boxes = [
    ...states.map((s) => ({
      left: s.x - s.width / 2,
      right: s.x + s.width / 2,
      top: s.y - s.height / 2 - 16,
      bottom: s.y + s.height / 2,
    })),
    ...edges.map((e) => {
      const half = (Math.max(...e.events.map((event) => event.length)) * 6.6) / 2;
      const lines = (e.events.length + 1) * LINE_HEIGHT;
      return {
        left: e.label.x - half,
        right: e.label.x + half,
        top: e.label.y - lines / 2,
        bottom: e.label.y + lines / 2,
      };
    }),
    ...edges.flatMap((e) => e.points.map((p) => ({ left: p.x, right: p.x, top: p.y, bottom: p.y }))),
  ];
  const left = Math.min(...boxes.map((b) => b.left)) - PADDING;
  const top = Math.min(...boxes.map((b) => b.top)) - PADDING;
  const right = Math.max(...boxes.map((b) => b.right)) + PADDING;
  const bottom = Math.max(...boxes.map((b) => b.bottom)) + PADDING;
  return { x: Math.floor(left), y: Math.floor(top), width: Math.ceil(right - left), height: Math.ceil(bottom - top) };
}
