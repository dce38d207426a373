import type { Rng } from "./prng.ts";
import { pickTarget, randomQuery } from "./targets.ts";

/** Hostile but well-formed requests, for fetch: wrong methods, bad bodies, odd types, forbidden targets. */
export type FetchCase = { path: string; init: RequestInit; mustRefuse: boolean };

const ROUTES = [
  "/",
  "/healthz",
  "/metrics",
  "/status",
  "/dispatch",
  "/dispatch/%%%",
  "/dispatch/aGVsbG8",
  "/dispatch/not*base64",
  "/hub",
  "/pub/fuzz",
  "/unsafe/pub/fuzz",
  "/sub/fuzz",
  "/sse/fuzz",
  "/stream",
  "/api/v1/deliveries",
  "/api/v1/deliveries/dlv_00000000000000000000000000",
  "/api/v1/deliveries/x/retry",
  "/api/v1/deliveries/x/cancel",
  "/api/v1/deliveries/x/body",
  "/api/v1/events/x",
  "/api/v1/machines",
  "/api/v1/openapi.json",
  "/api/v1/subscriptions",
  "/api/v1/subscriptions/x/rotate-secret",
];
const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];
const TYPES = [
  "application/json",
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data",
  "x/y;;",
  "",
];

function body(rng: Rng): string | Uint8Array<ArrayBuffer> {
  return rng.pick<() => string | Uint8Array<ArrayBuffer>>([
    () => "{",
    () => '{"url":123,"topic":[],"events":{"a":1}}',
    () => JSON.stringify({ url: `http://127.0.0.1:1/`, topic: "t".repeat(rng.int(2_000)) }),
    () => new Uint8Array(rng.bytes(rng.int(4_096))),
    () => "x".repeat(1_100_000), // over HOOKD_MAX_BODY (1MiB)
    () => "\u0000\ud800 ünï 🙂",
    () => "a=1&_url=%ff",
  ])();
}

export function fetchCase(rng: Rng, token: string, closedPort: number): FetchCase {
  const method = rng.pick(METHODS);
  const headers: Record<string, string> = {};
  const auth = rng.int(4);
  if (auth < 2) headers.authorization = `Bearer ${token}`;
  else if (auth === 2) headers.authorization = rng.pick(["Bearer x", "Basic Og==", "Bearer " + "a".repeat(5_000)]);
  const type = rng.pick(TYPES);
  if (type) headers["content-type"] = type;
  const target = pickTarget(rng, closedPort);
  // Half of all requests go to the ingest routes with a target, the shape most likely to reach deeper code.
  if (rng.int(2) === 0) {
    const path = rng.pick(["/dispatch", "/hub", "/api/v1/subscriptions"]);
    const withUrl = `${path}?_url=${encodeURIComponent(target.url)}&${randomQuery(rng).slice(1)}`;
    const payload = path === "/dispatch" ? body(rng) : JSON.stringify({ url: target.url, topic: "fuzz" });
    return { path: withUrl, init: { method: "POST", headers, body: payload }, mustRefuse: target.mustRefuse };
  }
  const init: RequestInit = { method, headers };
  if (method !== "GET" && method !== "HEAD") init.body = body(rng);
  return { path: rng.pick(ROUTES) + randomQuery(rng), init, mustRefuse: false };
}
