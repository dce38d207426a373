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
  const issues = zodIssues.flatMap((issue) =>
    // An object's unknown keys come as one issue on the object: each is named as the field it is.
    issue.code === "unrecognized_keys"
      ? issue.keys.map((key) => ({ field: [...issue.path, key].join("."), message: "not a field this takes" }))
      : [{ field: issue.path.join(".") || null, message: issue.message }]
  );
  return badRequest(
    issues.map((issue) => (issue.field ? `${issue.field}: ${issue.message}` : issue.message)).join("; "),
    { errors: issues },
  );
}
