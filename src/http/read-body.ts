import type { Context } from "hono";
import { ProblemError } from "./problem.ts";
import { concatBytes } from "../domain/bytes.ts";

/**
 * Reads a request body up to `maxBytes`, answering 413 past it. A declared Content-Length is checked
 * before reading anything; only chunked bodies are counted as they stream. (Hono's bodyLimit
 * middleware wraps every body in a web stream, which costs a third of ingest throughput on Node.)
 */

/**
 * `setBy` names the variable that sets the limit; null for a limit of hookd's own (the JSON API's
 * settings bodies), which no variable changes.
 */
export function tooLarge(maxBytes: number, setBy: string | null): ProblemError {
  return new ProblemError({
    status: 413,
    kind: "body-too-large",
    title: "The body is too large",
    detail: setBy === null
      ? `Bodies on this path are limited to ${maxBytes} bytes.`
      : `Bodies are limited to ${maxBytes} bytes (${setBy}).`,
    extra: { limit: maxBytes },
  });
}

/**
 * What a runtime's server may put in Hono's env beside its own: a way to take a request's body
 * without a stream when the runtime holds all of it already, or null (serve-node.ts sets it on Node,
 * where a small body has arrived with its headers and reading it through a stream is most of its cost).
 */
export type BufferedBodyEnv = { takeBufferedBody?: (declaredBytes: number) => Uint8Array<ArrayBuffer> | null };

/** Reads the body once: under Node a body taken at once is not kept for a second read (Hono's c.req.text() then refuses). */
export async function readBody(
  c: Context,
  maxBytes: number,
  /** The variable that sets `maxBytes`, for the 413; null for a limit no variable changes. */
  setBy: string | null,
): Promise<Uint8Array<ArrayBuffer>> {
  const declared = c.req.header("content-length");
  if (declared !== undefined && c.req.header("transfer-encoding") === undefined) {
    const bytes = Number(declared);
    if (bytes > maxBytes) throw tooLarge(maxBytes, setBy);
    return (c.env as BufferedBodyEnv | undefined)?.takeBufferedBody?.(bytes) ??
      new Uint8Array(await c.req.arrayBuffer());
  }
  const stream = c.req.raw.body;
  if (!stream) return new Uint8Array(0);
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > maxBytes) {
      await reader.cancel();
      throw tooLarge(maxBytes, setBy);
    }
    chunks.push(value);
  }
  return concatBytes(chunks);
}
