import { Writable } from "node:stream";
import { createLogger } from "../../src/log.ts";

/** A logger whose output a test reads back: each line as written, and all of them parsed. */
export function capturedLog(level: "info" | "warn") {
  const lines: string[] = [];
  const log = createLogger(level, new Writable({ write: (chunk, _, done) => done(void lines.push(String(chunk))) }));
  return { log, lines, entries: () => lines.map((line) => JSON.parse(line)) };
}
