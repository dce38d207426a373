import { z } from "zod";
import { badRequest } from "./problem.ts";

/** Request validation shared by the API routes: zod issues become one 400 that names each field. */

export function parseOr400<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw invalid(result.error.issues);
}

/** The 400 for a failed validation: one problem naming each field. */
export function invalid(zodIssues: readonly z.core.$ZodIssue[]) {
  const issues = zodIssues.map((issue) => ({ field: issue.path.join(".") || null, message: issue.message }));
  return badRequest(
    issues.map((issue) => (issue.field ? `${issue.field}: ${issue.message}` : issue.message)).join("; "),
    { errors: issues },
  );
}
