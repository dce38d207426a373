import type { JSX } from "hono/jsx/jsx-runtime";

/** A JSX element as HTML text, for an SSE frame (hono/jsx renders synchronously when nothing in it is async). */
export function renderToString(element: JSX.Element): string {
  return String(element);
}
