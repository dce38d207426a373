import { expect, it } from "vitest";
import { randomBytes } from "./random-pool.ts";

it("hands out fresh bytes of the asked length, never the same stretch twice", () => {
  const seen = new Set<string>();
  for (let i = 0; i < 2_000; i++) {
    const bytes = randomBytes(10);
    expect(bytes).toHaveLength(10);
    const hex = Buffer.from(bytes).toString("hex");
    expect(seen.has(hex)).toBe(false);
    seen.add(hex);
  }
  expect(randomBytes(5_000)).toHaveLength(5_000);
});
