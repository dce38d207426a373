import { type DestinationStream, type Logger, pino } from "pino";
import { redactQueryTokens } from "./redact-token.ts";

export type { Logger };

/**
 * hookd's logger; `destination` (stdout by default) lets a test read what hookd logs, and `fields` go on
 * every line (which process of several wrote it, HOOKD_PROCESSES).
 */
export function createLogger(
  level: string,
  destination?: DestinationStream,
  fields: Record<string, unknown> = {},
): Logger {
  const options = {
    level,
    base: { service: "hookd", ...fields },
    timestamp: pino.stdTimeFunctions.isoTime,
    // On the finished line, so a URL in any field, message or error's stack is covered.
    hooks: { streamWrite: redactQueryTokens },
  };
  return destination ? pino(options, destination) : pino(options);
}
