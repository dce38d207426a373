import { HookdError, listen, type TopicMessage } from "../client/index.ts";
import { describeFetchError } from "./api.ts";

/** `hookd tail <topic>`: prints a topic's messages as they arrive, resuming across reconnects, until SIGINT. */

export type TailSpec = { baseUrl: string; topic: string; token: string; since: string | undefined; json: boolean };

/** One line per message, so `grep` and `head` work: line breaks in the body are escaped; --json gives the exact envelope. */
export function tailLine(message: TopicMessage, json: boolean): string {
  const envelope = message.toJSON();
  if (json) return JSON.stringify(envelope);
  const body = "body" in envelope ? envelope.body.replace(/\r\n|\r|\n/g, "\\n") : `base64:${envelope.body_base64}`;
  return `${message.seq} ${message.topic} ${message.type ?? "-"} ${body}`;
}

export async function tail(spec: TailSpec): Promise<number> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const url = `${spec.baseUrl}/sub/${spec.topic.split("/").map(encodeURIComponent).join("/")}`;
  try {
    await listen(url, {
      token: spec.token,
      since: spec.since,
      signal: stop.signal,
      onMessage: (message) => {
        process.stdout.write(`${tailLine(message, spec.json)}\n`);
      },
      onError: (error, retry) => {
        process.stderr.write(`hookd tail: ${describeFetchError(error)}; reconnecting in ${retry.delayMs} ms\n`);
      },
    });
    return 0;
  } catch (error) {
    if (!(error instanceof HookdError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return 1;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}
