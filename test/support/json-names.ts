/**
 * hookd's JSON answers name every field in snake_case. This finds the names that aren't, as paths
 * into the value, so a test can say exactly which field broke the rule. The keys of `headers` and
 * `metadata` are data (header names, a user's own labels), not hookd's names, so they are skipped;
 * so are those of the delivery counts, which are state values as `state` fields spell them ("in-flight").
 */

const SNAKE_CASE = /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/;
const DATA_KEYED = new Set(["headers", "metadata", "counts"]);

export function nonSnakeKeys(value: unknown, path = "$"): string[] {
  if (Array.isArray(value)) return value.flatMap((item, index) => nonSnakeKeys(item, `${path}[${index}]`));
  if (value === null || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([key, inner]) => [
    ...(SNAKE_CASE.test(key) ? [] : [`${path}.${key}`]),
    ...(DATA_KEYED.has(key) ? [] : nonSnakeKeys(inner, `${path}.${key}`)),
  ]);
}
