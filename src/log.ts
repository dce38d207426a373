import { type DestinationStream, type Logger, pino } from "pino";
import { redactQueryTokens } from "./redact-token.ts";

export type { Logger };

/** hookd's logger; `destination` (stdout by default) lets a test read what hookd logs. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: "hookd" },
    timestamp: pino.stdTimeFunctions.isoTime,
    // On the finished line, so a URL in any field, message or error's stack is covered.
    hooks: { streamWrite: redactQueryTokens },
  };
  return destination ? pino(options, destination) : pino(options);
}
