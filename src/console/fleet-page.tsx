import type { DeliveryState } from "../../actors/delivery.machine.ts";
import { Page } from "./layout.tsx";
import { MachineDiagram } from "./machine-diagram.tsx";
import type { MachineLayout } from "./machine-layout.ts";
import type { FleetSnapshot, TargetStats } from "./services.ts";
import { CONSOLE_PATH } from "./session.ts";

/** The fleet: the delivery machine with how many deliveries sit on each state and took each transition lately; per-target health. */

export const FLEET_PATH = `${CONSOLE_PATH}/fleet`;
export const FLEET_WINDOW_MS = 5 * 60_000;

/** What the page shows: a full snapshot from the fleet service, or the counts per state alone without it. */
export type FleetView = { snapshot: FleetSnapshot | null; states: Record<DeliveryState, number> };

export function FleetPage({ view, layout, csrf }: { view: FleetView; layout: MachineLayout; csrf: string }) {
  return (
    <Page
      title="Fleet"
      csrf={csrf}
      section="fleet"
      scripts={["uplot.min.js", "fleet-chart.js"]}
      styles={["uplot.min.css"]}
    >
      <h1>Fleet</h1>
      <div hx-ext="sse" sse-connect={`${FLEET_PATH}/live`}>
        <div id="fleet" sse-swap="fleet" hx-swap="innerHTML">
          <FleetBody view={view} layout={layout} />
        </div>
      </div>
    </Page>
  );
}

export function FleetBody({ view, layout }: { view: FleetView; layout: MachineLayout }) {
  const edgeCounts: Record<string, number> = {};
  for (const t of view.snapshot?.transitions ?? []) {
    const key = `${t.from}->${t.to}`;
    edgeCounts[key] = (edgeCounts[key] ?? 0) + t.count;
  }
  const minutes = Math.round((view.snapshot?.windowMs ?? FLEET_WINDOW_MS) / 60_000);
  return (
    <>
      <section class="card">
        <h2>Where deliveries are{view.snapshot ? `, and where they went in the last ${minutes} minutes` : ""}</h2>
        <MachineDiagram
          layout={layout}
          marks={{ stateCounts: view.states, ...(view.snapshot ? { edgeCounts } : {}) }}
        />
        {view.snapshot && !view.snapshot.windowComplete
          ? (
            <p class="muted" data-window="incomplete">
              Reading the last {minutes} minutes back from the journal: the counts per transition fill in as it goes.
            </p>
          )
          : null}
        {view.snapshot ? null : (
          <p class="muted">
            Counts per state from the journal. Counts per transition and per-target charts need the fleet statistics
            service, which this hookd does not run.
          </p>
        )}
      </section>
      {view.snapshot ? <Targets targets={view.snapshot.targets} window={windowOf(view.snapshot)} /> : null}
    </>
  );
}

function percent(rate: number | null): string {
  return rate === null ? "—" : `${Math.round(rate * 100)}%`;
}

/** The charts' time axis, in seconds: the whole window, so a target with one minute of data is not stretched over years. */
function windowOf(snapshot: { at: string; windowMs: number }): [number, number] {
  const to = Math.round(Date.parse(snapshot.at) / 1000);
  return [to - Math.round(snapshot.windowMs / 1000), to];
}

function Targets({ targets, window }: { targets: TargetStats[]; window: [number, number] }) {
  return (
    <section class="grid2">
      {targets.map((target) => (
        <div class="card" data-target={target.host}>
          <h2 class="wrap">{target.host}</h2>
          <p>
            {target.attempts} attempts · {percent(target.successRate)} succeeded · median{" "}
            {target.p50LatencyMs === null ? "—" : `${Math.round(target.p50LatencyMs)} ms`}
          </p>
          <div
            class="chart"
            data-chart={JSON.stringify({
              window,
              x: target.series.map((p) => Math.round(p.at / 1000)),
              success: target.series.map((p) => (p.successRate === null ? null : p.successRate * 100)),
              latency: target.series.map((p) => p.latencyMs),
            })}
          >
          </div>
        </div>
      ))}
    </section>
  );
}
