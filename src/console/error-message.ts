import { NatsUnavailableError, UnreadableEntryError } from "../nats/journal.ts";
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
  if (error instanceof UnreadableEntryError) {
    return {
      text: `${error.message}. A newer hookd sharing this NATS can show it; upgrade this instance to read it ` +
        "too. If none can, the message is damaged: docs/deploy.md says how an operator removes it.",
      status: 500,
    };
  }
  return { text: `hookd could not do that: ${(error as Error)?.message ?? String(error)}`, status: 500 };
}

/** The title of the page that says it: a refusal is the person's to act on, the rest hookd's. */
export function consoleErrorTitle(status: number): string {
  if (status === 404) return "Not found";
  if (status === 410) return "Gone";
  return status >= 500 ? "Could not be shown" : "Refused";
}
