import type { Rng } from "./prng.ts";

/**
 * Malformed HTTP/1.1 as bytes, for a raw socket: what fetch would never send. Each builder takes the
 * PRNG and the admin token (so some requests get past auth to the body parsers).
 */
type RawBuilder = (rng: Rng, token: string) => Buffer;

const text = (s: string) => Buffer.from(s, "latin1");
const PATHS = ["/", "/healthz", "/dispatch", "/api/v1/deliveries", "/pub/t", "/sse/t", "/metrics", "/hub"];

const BUILDERS: RawBuilder[] = [
  // Broken framing: no version, an unknown version, bare LF, a header without a colon, garbage.
  (rng) => text(`GET ${rng.pick(PATHS)}\r\n\r\n`),
  (rng) => text(`GET ${rng.pick(PATHS)} HTTP/9.9\r\nhost: x\r\n\r\n`),
  (rng) => text(`GET ${rng.pick(PATHS)} HTTP/1.1\nhost: x\n\n`),
  (rng) => text(`GET ${rng.pick(PATHS)} HTTP/1.1\r\nhost x\r\nno-colon\r\n\r\n`),
  (rng) => rng.bytes(1 + rng.int(512)),
  // Huge headers: one long value, many headers.
  (rng) =>
    text(`GET ${rng.pick(PATHS)} HTTP/1.1\r\nhost: x\r\nx-big: ${"a".repeat(20_000 + rng.int(100_000))}\r\n\r\n`),
  () => text(`GET / HTTP/1.1\r\nhost: x\r\n${Array.from({ length: 3_000 }, (_, i) => `x-${i}: v\r\n`).join("")}\r\n`),
  // Bad chunked encoding, and Content-Length beside Transfer-Encoding (request smuggling's shape).
  (rng, token) => post(rng, token, "transfer-encoding: chunked\r\n", "zz\r\nabc\r\n0\r\n\r\n"),
  (rng, token) => post(rng, token, "transfer-encoding: chunked\r\n", "5\r\nabc\r\n"),
  (rng, token) => post(rng, token, "transfer-encoding: chunked\r\ncontent-length: 3\r\n", "3\r\nabc\r\n0\r\n\r\n"),
  (rng, token) => post(rng, token, "content-length: 1\r\ncontent-length: 2\r\n", "ab"),
  (rng, token) => post(rng, token, "content-length: -5\r\n", ""),
  // Promises a body and sends less: hookd must not wait forever nor fail.
  (rng, token) => post(rng, token, "content-length: 100\r\n", "short"),
  // Invalid UTF-8, NULs, dot segments and unicode in the path.
  () => Buffer.concat([text("GET /sse/"), Buffer.from([0xff, 0xfe, 0xc3]), text(" HTTP/1.1\r\nhost: x\r\n\r\n")]),
  () => text("GET /pub/a%00b HTTP/1.1\r\nhost: x\r\n\r\n"),
  (rng) =>
    text(
      `GET ${
        rng.pick(["/api/v1/../../healthz", "/%2e%2e/metrics", "/./dispatch/../hub", "//healthz"])
      } HTTP/1.1\r\nhost: x\r\n\r\n`,
    ),
  () => Buffer.concat([text("GET /sse/"), Buffer.from("топик🙂", "utf8"), text(" HTTP/1.1\r\nhost: x\r\n\r\n")]),
  // An absolute-form target naming another host, and a CONNECT: hookd is no proxy.
  () => text("GET http://127.0.0.1:1/healthz HTTP/1.1\r\nhost: x\r\n\r\n"),
  () => text("CONNECT 127.0.0.1:1 HTTP/1.1\r\nhost: 127.0.0.1:1\r\n\r\n"),
];

function post(rng: Rng, token: string, headers: string, body: string): Buffer {
  const path = rng.pick(["/dispatch?_url=http%3A%2F%2F127.0.0.1%3A1%2F", "/pub/fuzz", "/api/v1/subscriptions"]);
  return text(`POST ${path} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${token}\r\n${headers}\r\n${body}`);
}

export function rawCase(rng: Rng, token: string): Buffer {
  return rng.pick(BUILDERS)(rng, token);
}
