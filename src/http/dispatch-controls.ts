import type { Ingest } from "./ingest.ts";
import { badRequest } from "./problem.ts";

/**
 * Hookah's control parameters beside `_url`, read from the query string of every form (/dispatch,
 * /dispatch/<target>, the proxy form): `_wait` (inline mode), `_callback` and `_errback` (reports).
 * /dispatch also reads them from a form, multipart or JSON body. The proxy form takes them out of the target's query (domain/proxy-target.ts).
 */
export function dispatchControls(
  query: Record<string, string | undefined>,
): Pick<Ingest, "waitParameter" | "callback" | "errback"> {
  return {
    waitParameter: query._wait,
    callback: query._callback === undefined ? undefined : { url: query._callback, field: "_callback" },
    errback: query._errback === undefined ? undefined : { url: query._errback, field: "_errback" },
  };
}

/**
 * A publish has no one delivery to wait for or report on: a control meant for one is a mistake
 * worth naming, on /dispatch?_topic= and /pub/<topic> alike. `what` names the publish in the detail.
 */
export function refuseDeliveryControls(query: Record<string, string | undefined>, what: string): void {
  const given = ["_wait", "_callback", "_errback"].find((name) => query[name] !== undefined);
  if (given === undefined) return;
  throw badRequest(
    `${given} applies to a delivery to _url, not to ${what} (a subscription's callback_url and errback_url report on its deliveries).`,
    { field: given },
  );
}
