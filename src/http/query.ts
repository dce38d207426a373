import type { Context } from "hono";
import { validator } from "hono/validator";
import { z } from "zod";
import { badRequest } from "./problem.ts";
import { parseOr400 } from "./validation.ts";

/**
 * Query parameters on the JSON API (/api/v1/...). Every route names its parameters in a zod
 * schema, handed to `query()` in the route definition, so a generated document can list them; a
 * parameter the schema doesn't name is a 400 that names it, because a misspelt filter
 * (`?subscription_id=` for `?topic=`) would otherwise quietly answer everything. Hookah's and
 * Hookbot's routes keep their own parameters and don't use this.
 */

/** For routes that take no query parameters. */
export const NoQuerySchema = z.object({});

const NOT_A_PAGE_LIMIT = "limit must be a whole number from 1 to 100";

/** `?limit=` of a page: 1 to 100, 50 unless asked. */
export const PageLimitSchema = z.coerce.number({ error: NOT_A_PAGE_LIMIT }).int(NOT_A_PAGE_LIMIT).min(
  1,
  NOT_A_PAGE_LIMIT,
)
  .max(100, "limit is at most 100").default(50);

type QueryValue = Record<string, string | string[]>;

export function parseQuery<T extends z.ZodObject>(c: Context, schema: T, value: QueryValue): z.output<T> {
  // `?token=` never gets here: auth.ts refuses it off the stream routes, with a detail of its own.
  const known = Object.keys(schema.shape);
  const unknown = Object.keys(value).filter((name) => !known.includes(name));
  if (unknown.length > 0) throw unknownParameters(c, unknown, known);
  return parseOr400(schema, value) as z.output<T>;
}

function unknownParameters(c: Context, unknown: string[], known: string[]) {
  const route = `${c.req.method} ${c.req.routePath}`;
  const takes = known.length === 0 ? "it takes no query parameters" : `it takes ${known.join(", ")}`;
  const names = unknown.map((name) => `"${name}"`).join(", ");
  return badRequest(
    `${names} ${unknown.length === 1 ? "is not a query parameter" : "are not query parameters"} of ${route}; ${takes}.`,
    {
      errors: unknown.map((name) => ({ field: name, message: `unknown query parameter; ${takes}` })),
    },
  );
}

/** The route-definition middleware: validates the query, and the handler reads it with c.req.valid("query"). */
export function query<T extends z.ZodObject>(schema: T) {
  return validator("query", (value, c) => parseQuery(c, schema, value as QueryValue));
}
