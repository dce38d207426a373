import { parseRetryAfter } from "./backoff.ts";

/** An RFC 9457 problem as hookd sends it: `detail` says how to fix the request. */
export type Problem = { type?: string; title?: string; status?: number; detail?: string; [field: string]: unknown };

/** hookd refused a request; `status` and `problem` are its answer. */
export class HookdError extends Error {
  override readonly name = "HookdError";

  constructor(
    readonly status: number,
    readonly problem: Problem | null,
    message: string,
    /** From Retry-After, on 429 and 503. */
    readonly retryAfterMs: number | null = null,
  ) {
    super(message);
  }

  get detail(): string | undefined {
    return this.problem?.detail;
  }
}

/** hookd ended a stream on purpose (hookd.disconnect); the listener resumes after `lastId`. */
export class StreamEndedError extends Error {
  override readonly name = "StreamEndedError";

  constructor(
    readonly reason: string,
    readonly lastId: number | null,
    readonly detail: string | undefined,
  ) {
    super(`hookd ended the stream (${reason})${detail ? `: ${detail}` : ""}`);
  }
}

export async function errorFromResponse(response: Response): Promise<HookdError> {
  const text = await response.text().catch(() => "");
  let problem: Problem | null = null;
  try {
    const json: unknown = JSON.parse(text);
    if (json !== null && typeof json === "object" && !Array.isArray(json)) problem = json as Problem;
  } catch {
    // Not problem+json (a proxy's page, say): the text itself goes into the message.
  }
  const detail = problem?.detail ?? problem?.title ?? (text.slice(0, 300) || response.statusText);
  return new HookdError(
    response.status,
    problem,
    `hookd answered ${response.status}: ${detail}`,
    parseRetryAfter(response.headers.get("retry-after"), Date.now()),
  );
}
