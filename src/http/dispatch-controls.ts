import type { Ingest } from "./ingest.ts";

/**
 * Hookah's control parameters beside `_url`, read from the query string of every form (/dispatch,
 * /dispatch/<target>, the proxy form): `_wait` (inline mode), `_callback` and `_errback` (reports).
 * The proxy form takes them out of the target's query (domain/proxy-target.ts).
 */
export function dispatchControls(
  query: Record<string, string>,
): Pick<Ingest, "waitParameter" | "callback" | "errback"> {
  return {
    waitParameter: query._wait,
    callback: query._callback === undefined ? undefined : { url: query._callback, field: "_callback" },
    errback: query._errback === undefined ? undefined : { url: query._errback, field: "_errback" },
  };
}
