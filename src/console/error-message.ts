import { NatsUnavailableError } from "../nats/journal.ts";
import { ActorNotFoundError, EventExpiredError, TransitionRefusedError } from "../runtime/errors.ts";
import { BulkJobTooLargeError } from "../runtime/bulk-jobs.ts";

/** What the console tells a person when a read or an action fails, in words, with the status the API would use. */
export function consoleErrorMessage(error: unknown): { text: string; status: 404 | 409 | 410 | 422 | 500 | 503 } {
  if (error instanceof ActorNotFoundError) return { text: error.message, status: 404 };
  if (error instanceof TransitionRefusedError) return { text: `Refused: ${error.message}.`, status: 409 };
  if (error instanceof BulkJobTooLargeError) {
    return { text: `${error.message} Narrow the filter (a time range, a target host).`, status: 422 };
  }
  if (error instanceof EventExpiredError) return { text: error.message, status: 410 };
  if (error instanceof NatsUnavailableError) return { text: "NATS is unavailable; try again shortly.", status: 503 };
  return { text: `hookd could not do that: ${(error as Error)?.message ?? String(error)}`, status: 500 };
}
