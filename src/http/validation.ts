import { z } from "zod";
import { badRequest } from "./problem.ts";

/** Request validation shared by the API routes: zod issues become one 400 that names each field. */

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export const HeaderMapSchema = z.record(
  z.string().regex(HEADER_NAME, "header names must be HTTP tokens"),
  z.string().refine((value) => !/[\r\n\0]/.test(value), "header values must not contain CR, LF or NUL"),
);

export function parseOr400<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => ({ field: issue.path.join(".") || null, message: issue.message }));
  throw badRequest(issues.map((issue) => (issue.field ? `${issue.field}: ${issue.message}` : issue.message)).join("; "), { errors: issues });
}
