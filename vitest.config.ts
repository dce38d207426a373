import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["actors/**/*.test.ts", "src/**/*.test.ts", "test/*.test.ts"],
    // Integration suites each spawn their own nats-server and hookd processes; two cores cannot run many at once.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
