import { fmt } from "../support/figures.ts";
import type { ChaosFigures } from "./run.ts";

/** The chaos run's figures as a small table, and what in them fails the run (never a timing). */

export function chaosTable(f: ChaosFigures): string {
  const other = [...f.load.other].map(([status, n]) => `${status}×${n}`).join(" ") || "0";
  const rows: [string, string][] = [
    ["accepted (202)", fmt(f.load.accepted.size)],
    ["delivered", fmt(f.delivered)],
    ["lost", fmt(f.lost)],
    ["duplicated (at-least-once)", fmt(f.duplicated)],
    ["delivered without a 202 (cut answers)", fmt(f.unannounced)],
    ["503 + Retry-After", fmt(f.load.unavailable)],
    ["5xx (failures)", fmt(f.load.serverErrors)],
    ["other statuses", other],
    ["no answer (instance down)", fmt(f.load.noAnswer)],
    ["longest gap without a 202", `${fmt(f.load.longestGapMs / 1000, 1)} s`],
    ["SIGKILLs / NATS restarts", `${f.kills} / ${f.natsRestarts}`],
    ["crashes", fmt(f.crashes.length)],
    ["drain after load", `${fmt(f.drainMs / 1000, 1)} s`],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  return rows.map(([name, value]) => `  ${name.padEnd(width)}  ${value}`).join("\n");
}

export function chaosFailures(f: ChaosFigures): string[] {
  const failures: string[] = [];
  if (f.lost > 0) failures.push(`${f.lost} accepted deliveries never arrived`);
  if (f.load.serverErrors > 0) failures.push(`${f.load.serverErrors} 5xx answers: ${f.load.samples.join(" | ")}`);
  for (const crash of f.crashes) failures.push(`crash: ${crash}`);
  if (f.load.accepted.size === 0) failures.push("nothing was accepted");
  return failures;
}
