import type { Context } from "hono";
import type { z } from "zod";
import { badRequest } from "./problem.ts";
import { readBody } from "./read-body.ts";
import { parseOr400 } from "./validation.ts";

/**
 * JSON request bodies, read the one way every route reads them: within a size limit (413 past it,
 * see read-body.ts), parsed (400 when it is not JSON), then checked against the route's zod schema
 * (400 naming each field). The schema stays a plain argument so a route definition can name it too.
 */

/** API bodies that carry settings, not payloads: small enough that a larger one is a mistake. */
export const MAX_API_BODY_BYTES = 64 * 1024;

const decoder = new TextDecoder();

export type JsonBodyOptions = {
  /**
   * Bytes the request may have, and the variable that sets them (for the 413); the default suits
   * settings and no variable changes it, a route that carries a payload sets its own.
   */
  limit?: { bytes: number; setBy: string | null };
  /** What an empty body reads as, for bodies whose fields all have defaults; without it an empty body is not JSON. */
  whenEmpty?: unknown;
  /** The 400's detail when the body is not JSON: say what the route expects. */
  notJson?: string;
};

/** Parses JSON bytes, or answers 400 with `detail(error)` when they are not JSON. */
export function parseJson(raw: Uint8Array, detail: (error: Error) => string): unknown {
  try {
    return JSON.parse(decoder.decode(raw));
  } catch (error) {
    throw badRequest(detail(error as Error));
  }
}

/** The request's JSON body, not yet checked against a schema. */
async function readJson(c: Context, options: JsonBodyOptions = {}): Promise<unknown> {
  const { bytes, setBy } = options.limit ?? { bytes: MAX_API_BODY_BYTES, setBy: null };
  const raw = await readBody(c, bytes, setBy);
  if (raw.length === 0 && options.whenEmpty !== undefined) return options.whenEmpty;
  return parseJson(raw, () => options.notJson ?? "The body must be a JSON object.");
}

/** The request's JSON body as `schema` parses it. */
export async function readJsonBody<T>(c: Context, schema: z.ZodType<T>, options: JsonBodyOptions = {}): Promise<T> {
  return parseOr400(schema, await readJson(c, options));
}
