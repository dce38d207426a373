import { fmt } from "../support/figures.ts";
import type { FuzzFigures } from "./run.ts";

/** The fuzz run's figures as a small table, and what in them fails the run (never a timing). */

export function fuzzTable(f: FuzzFigures): string {
  const statuses = [...f.byStatus].sort(([a], [b]) => a.localeCompare(b));
  const rows: [string, string][] = [
    ...statuses.map(([status, n]): [string, string] => [status, fmt(n)]),
    ["5xx", fmt(f.serverErrors.length)],
    ["forbidden targets accepted", fmt(f.acceptedForbidden.length)],
    ["crashed", f.crashed ? "yes" : "no"],
    ["/healthz after", String(f.healthz)],
    ["RSS before → after (peak)", `${fmt(f.rssBeforeMb, 1)} → ${fmt(f.rssAfterMb, 1)} MiB (${fmt(f.peakMb, 1)})`],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  return rows.map(([name, value]) => `  ${name.padEnd(width)}  ${value}`).join("\n");
}

export function fuzzFailures(f: FuzzFigures): string[] {
  const failures = [...f.serverErrors.slice(0, 10).map((e) => `5xx: ${e}`)];
  for (const accepted of f.acceptedForbidden.slice(0, 10)) failures.push(`accepted a forbidden target: ${accepted}`);
  if (f.crashed) failures.push(f.crashed);
  if (f.healthz !== 200) failures.push(`/healthz answered ${f.healthz} after the run`);
  return failures;
}
