import { expect } from "vitest";

/**
 * Running a document's shell examples as written: the tests set the few lines that name this
 * run's addresses, and read what the examples' comments promise as patterns over the output.
 */

/** A promise written in a comment, as a pattern: `…` stands for anything on the same line. */
export function promisePattern(text: string): RegExp {
  return new RegExp(
    text
      .split("…")
      .map((piece) => piece.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
      .join("[^\\n]*?"),
  );
}

/** Sets a `NAME=value` (or `export NAME=value`) line's value, and fails if the script no longer has that line. */
export function assign(script: string, name: string, value: string): string {
  const line = new RegExp(`^(export )?${name}=\\S+`, "m");
  expect(script, `the quick start sets ${name}=… on a line of its own`).toMatch(line);
  return script.replace(line, (found) => `${found.startsWith("export ") ? "export " : ""}${name}=${value}`);
}
