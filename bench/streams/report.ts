import { fmt } from "../support/figures.ts";
import type { CountResult } from "./measure.ts";
import type { PhaseResult } from "./phase.ts";
import { log, MAX_INFLIGHT, PUBLISH_OVERRUN, RATE, STEP_P99_MS } from "./settings.ts";

/** What bench/streams prints: one log line per phase, and the summary table with one column per listener count. */

const cpuText = (r: PhaseResult) =>
  `CPU (of one core) hookd ${fmt(r.cpu.hookd)}%, nats ${fmt(r.cpu.nats)}%, publisher ${
    fmt(r.cpu.publisher)
  }%, listener processes ${r.cpu.clients.map((c) => `${fmt(c)}%`).join("/")} ` +
  `(their event loops busy ${r.cpu.clientElu.map((e) => `${fmt(e * 100)}%`).join("/")}), machine ${
    fmt(r.cpu.machine)
  }% of 200% (other processes on the machine ${fmt(r.cpu.others)}%); hookd event-loop delay p99 ${
    fmt(r.hookdLag.p99)
  } ms, max ${fmt(r.hookdLag.max)} ms`;

export function logPhase(label: string, r: PhaseResult): void {
  log(
    `${label}: ${fmt(r.rate)} msg/s offered, ${fmt(r.publish.accepted)}/${fmt(r.publish.attempted)} accepted in ${
      fmt(r.publish.seconds, 1)
    } s` +
      `${
        r.publish.failed
          ? ` (${r.publish.failed} failed: ${
            Object.entries(r.publish.errors).map(([kind, n]) => `${n}× ${kind}`).join("; ")
          })`
          : ""
      }${r.publish.inflightBound ? ` (publisher hit ${MAX_INFLIGHT} in flight)` : ""}${
        r.publish.cutShort
          ? ` (publisher gave up at ${PUBLISH_OVERRUN}× the phase's time: hookd answered too slowly)`
          : ""
      }, ack p50 ${fmt(r.publish.ackP50, 1)} ms p99 ${fmt(r.publish.ackP99, 1)} ms; ` +
      `p50 ${fmt(r.p50, 1)} ms, p99 ${fmt(r.p99, 1)} ms, max ${fmt(r.max)} ms over ${fmt(r.pairs)} pairs; missed ${
        fmt(r.missed)
      }; ` +
      `${
        r.allDelivered
          ? `all delivered ${fmt(r.drainedMs)} ms after the last ack`
          : `NOT all delivered (gave up ${fmt(r.drainedMs)} ms after the last ack; ${fmt(r.complete)}/${
            fmt(r.listeners)
          } listeners complete)`
      }; ` +
      `${fmt(r.deliveredFramesPerSecond)} frames/s received; cut off ${r.cutOff}${
        r.cutOff ? ` ${JSON.stringify(r.cutReasons)}` : ""
      }, closed ${r.closedUnexpectedly}, alive ${fmt(r.alive)}` +
      `${r.duplicates ? `, duplicates ${r.duplicates}` : ""}${
        r.late ? `, ${fmt(r.late)} late frames of an earlier phase` : ""
      }${r.negative ? `, ${r.negative} negative latencies` : ""}${
        r.distinctMax > r.publish.accepted
          ? `, a listener got ${fmt(r.distinctMax)} messages: ${
            fmt(r.distinctMax - r.publish.accepted)
          } publish(es) answered as failed were stored and delivered`
          : ""
      }; ${cpuText(r)}`,
  );
}

export function printTable(results: CountResult[]): void {
  const rows: [string, (r: CountResult) => string][] = [
    [
      "connected (time)",
      (r) =>
        `${fmt(r.connect.ok)} (${fmt(r.connect.seconds, 1)} s)${
          r.connect.failed ? `, ${r.connect.failed} failed` : ""
        }`,
    ],
    [
      `latency p50 / p99 at ${RATE} msg/s`,
      (r) => (r.latency ? `${fmt(r.latency.p50, 1)} / ${fmt(r.latency.p99, 1)} ms` : "–"),
    ],
    ["latency max", (r) => (r.latency ? `${fmt(r.latency.max)} ms` : "–")],
    [
      "messages published (accepted/offered)",
      (
        r,
      ) => (r.latency
        ? `${fmt(r.latency.publish.accepted)}/${fmt(r.latency.publish.attempted)} in ${
          fmt(r.latency.publish.seconds, 1)
        } s${r.latency.publish.cutShort ? " (cut short)" : ""}`
        : "–"),
    ],
    [
      "publish ack p50 / p99 (latency)",
      (r) => (r.latency ? `${fmt(r.latency.publish.ackP50, 1)} / ${fmt(r.latency.publish.ackP99, 1)} ms` : "–"),
    ],
    [
      "(listener, message) pairs; missed",
      (r) => (r.latency ? `${fmt(r.latency.pairs)}; ${fmt(r.latency.missed)}` : "–"),
    ],
    [
      "cut off / closed in latency phase",
      (r) => (r.latency ? `${r.latency.cutOff} / ${r.latency.closedUnexpectedly}` : "–"),
    ],
    [
      "CPU hookd / machine / others (latency)",
      (
        r,
      ) => (r.latency
        ? `${fmt(r.latency.cpu.hookd)}% / ${fmt(r.latency.cpu.machine)}% / ${fmt(r.latency.cpu.others)}%`
        : "–"),
    ],
    [
      "listener event loops busy (latency)",
      (r) => (r.latency ? r.latency.cpu.clientElu.map((e) => `${fmt(e * 100)}%`).join(" / ") : "–"),
    ],
    ["saturated (latency phase)", (r) => (r.latency ? limitOf(r.latency) : "–")],
    ["hookd event-loop delay p99 (latency)", (r) => (r.latency ? `${fmt(r.latency.hookdLag.p99)} ms` : "–")],
    ["hookd RSS: no listener", (r) => `${fmt(r.rss.empty)} MiB`],
    ["hookd RSS: listeners idle", (r) => `${fmt(r.rss.idle)} MiB`],
    ["hookd RSS: after latency phase", (r) => `${fmt(r.rss.afterLatency)} MiB`],
    ["hookd RSS: after steps (peak)", (r) => `${fmt(r.rss.afterSteps)} MiB (${fmt(r.rss.peak)})`],
    [
      "max sustained msg/s per listener",
      (r) => (r.best ? `${fmt(r.best.rate)}` : r.steps.length ? `< ${fmt(r.steps[0]!.rate)}` : "–"),
    ],
    ["  = total frames/s", (r) => (r.best ? `${fmt(r.best.rate * r.listeners)}` : "–")],
    ["  p99 at that rate", (r) => (r.best ? `${fmt(r.best.p99, 1)} ms` : "–")],
    [
      "first failing step",
      (
        r,
      ) => (r.firstFailing
        ? `${fmt(r.firstFailing.rate)} msg/s (${whyFailed(r.firstFailing)})`
        : r.steps.length
        ? "none (ran out of steps)"
        : "–"),
    ],
    ["  saturated then", (r) => (r.firstFailing ? limitOf(r.firstFailing) : "–")],
    [
      "cut off / closed (all phases)",
      (r) =>
        `${r.phases.reduce((n, p) => n + p.cutOff, 0)} / ${r.phases.reduce((n, p) => n + p.closedUnexpectedly, 0)}`,
    ],
    ["hookd stop time", (r) => `${fmt(r.stopSeconds, 1)} s`],
    ["hookd warn/error log lines", (r) => String(r.hookdProblems.length)],
    ["hookd CPU with listeners idle", (r) => `${fmt(r.idleCpu)}%`],
    ["others' CPU, max over phases", (r) => `${fmt(Math.max(...r.phases.map((p) => p.cpu.others)))}% (shared machine)`],
  ];
  const header = ["", ...results.map((r) => `${fmt(r.listeners)} listeners`)];
  const body = rows.map(([name, cell]) => [name, ...results.map(cell)]);
  const widths = header.map((_, i) => Math.max(...[header, ...body].map((row) => row[i]!.length)));
  const line = (row: string[]) => `| ${row.map((cell, i) => cell.padEnd(widths[i]!)).join(" | ")} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const row of body) console.log(line(row));
}

/** Which side was saturated during a phase, judged from CPU: a Node process's JavaScript runs on one core. */
function limitOf(r: PhaseResult): string {
  const saturated: string[] = [];
  if (r.cpu.clientElu.some((elu) => elu >= 0.9)) saturated.push("listener processes");
  if (r.cpu.hookd >= 90) saturated.push(`hookd (${fmt(r.cpu.hookd)}% CPU)`);
  if (r.cpu.publisher >= 90) saturated.push("publisher");
  if (r.cpu.machine >= 185) saturated.push(`machine (${fmt(r.cpu.machine)}%/200%)`);
  return saturated.length ? saturated.join(" + ") : `none (machine ${fmt(r.cpu.machine)}%/200%)`;
}

export function whyFailed(r: PhaseResult): string {
  const reasons: string[] = [];
  if (r.cutOff) reasons.push(`${r.cutOff} cut off`);
  if (r.closedUnexpectedly) reasons.push(`${r.closedUnexpectedly} closed`);
  if (!r.allDelivered) {
    reasons.push(`${fmt(r.complete)}/${fmt(r.listeners)} complete after ${fmt(r.drainedMs / 1000, 1)} s`);
  }
  if (r.p99 >= STEP_P99_MS) reasons.push(`p99 ${fmt(r.p99)} ms`);
  if (r.publish.failed) reasons.push(`${r.publish.failed} publishes failed`);
  if (r.publish.achievedRate < r.rate * 0.95) reasons.push(`publisher reached ${fmt(r.publish.achievedRate)}/s`);
  return reasons.join(", ");
}
