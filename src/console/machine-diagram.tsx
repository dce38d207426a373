import type { LaidOutEdge, MachineLayout } from "./machine-layout.ts";

/**
 * A laid-out machine drawn as SVG on the server: the current state (and the transition that led to
 * it) highlighted by class, with optional live counts per state and per transition (the fleet
 * view). Styled by console.css only, so it follows dark mode and needs no inline style.
 */

export type DiagramMarks = {
  current?: string | null;
  /** The transition last taken, drawn as such. */
  taken?: { from: string; to: string } | null;
  stateCounts?: Record<string, number>;
  /** Keyed `${from}->${to}`. */
  edgeCounts?: Record<string, number>;
};

function pathOf(edge: LaidOutEdge): string {
  const [first, ...rest] = edge.points;
  if (!first) return "";
  return `M${first.x.toFixed(1)},${first.y.toFixed(1)}` +
    rest.map((p) => ` L${p.x.toFixed(1)},${p.y.toFixed(1)}`).join("");
}

export function MachineDiagram({ layout, marks = {} }: { layout: MachineLayout; marks?: DiagramMarks }) {
  const current = marks.current ?? null;
  return (
    <div class="diagram-scroll">
      <svg
        class="machine"
        viewBox={`${layout.x} ${layout.y} ${layout.width} ${layout.height}`}
        role="img"
        aria-label={`${layout.id} machine${current ? `, now ${current}` : ""}`}
        data-machine={layout.id}
        data-current-state={current ?? ""}
      >
        <defs>
          <marker
            id={`arrow-${layout.id}`}
            viewBox="0 0 10 10"
            refX="9"
            refY="5"
            markerWidth="9"
            markerHeight="9"
            markerUnits="userSpaceOnUse"
            orient="auto-start-reverse"
          >
            <path d="M0,0 L10,5 L0,10 z" class="arrowhead" />
          </marker>
        </defs>
        {layout.edges.map((edge) => {
          const taken = marks.taken?.from === edge.from && marks.taken?.to === edge.to;
          const count = marks.edgeCounts?.[`${edge.from}->${edge.to}`];
          return (
            <g class={taken ? "edge taken" : "edge"} data-from={edge.from} data-to={edge.to}>
              <path d={pathOf(edge)} marker-end={`url(#arrow-${layout.id})`} />
              <text x={edge.label.x} y={edge.label.y - ((edge.events.length - 1) * 14) / 2} class="edge-label">
                {edge.events.map((event, i) => <tspan x={edge.label.x} dy={i === 0 ? 4 : 14}>{event}</tspan>)}
                {count !== undefined ? <tspan x={edge.label.x} dy={14} class="count">×{count}</tspan> : null}
              </text>
            </g>
          );
        })}
        {layout.states.map((state) => {
          const classes = ["state", state.final ? "final" : "", state.name === current ? "current" : ""].filter(
            Boolean,
          );
          const count = marks.stateCounts?.[state.name];
          return (
            <g class={classes.join(" ")} data-state={state.name}>
              <title>{state.description ?? state.name}</title>
              <rect
                x={state.x - state.width / 2}
                y={state.y - state.height / 2}
                width={state.width}
                height={state.height}
                rx="10"
              />
              <text x={state.x} y={state.y + 4}>{state.name}</text>
              {count !== undefined
                ? (
                  <text x={state.x + state.width / 2 - 4} y={state.y - state.height / 2 - 4} class="count state-count">
                    {count}
                  </text>
                )
                : null}
            </g>
          );
        })}
      </svg>
    </div>
  );
}
