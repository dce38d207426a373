import { describe, expect, it } from "vitest";
import { capturedLog } from "./support/captured-log.ts";
import { api, eventually, metricOf, startTestHookd } from "./support/hookd.ts";
import { hookdSuite } from "./support/suite.ts";

/**
 * Deliveries waiting in backoff hold the work consumer's slots (HOOKD_MAX_BACKLOG); once all are held,
 * NATS hands out no work for any receiver. hookd shows how many wait, and warns before the limit.
 */

const suite = hookdSuite({ hookd: "none", respond: () => ({ status: 500 }) });

describe("the backlog against HOOKD_MAX_BACKLOG", () => {
  it("is a gauge beside its limit, and a warning in the log once it is near", async () => {
    const { log, lines } = capturedLog("info");
    const hookd = await startTestHookd(suite.nats.url, { HOOKD_MAX_BACKLOG: "1000", HOOKD_RETRY_SCHEDULE: "1h" }, log);
    try {
      const target = encodeURIComponent(`${suite.receiver.url}/failing`);
      for (let sent = 0; sent < 950; sent += 50) {
        await Promise.all(Array.from({ length: 50 }, async () => {
          const response = await api(hookd.url, `/dispatch?_url=${target}`, { method: "POST", body: "x" });
          expect(response.status).toBe(202);
        }));
      }
      await suite.receiver.waitFor(950, 30_000);
      // Read every 15 s by each instance with workers.
      const waiting = await eventually(
        async () => ((await metricOf(hookd.url, "hookd_backlog_waiting")) >= 950 ? true : undefined),
        40_000,
        "the gauge to count the deliveries in backoff",
      );
      expect(waiting).toBe(true);
      expect(await metricOf(hookd.url, "hookd_backlog_limit")).toBe(1000);
      const warnings = lines.map((line) => JSON.parse(line)).filter((entry) =>
        String(entry.msg).includes("near HOOKD_MAX_BACKLOG")
      );
      expect(warnings).toEqual([expect.objectContaining({ level: 40, limit: 1000 })]);
      expect(warnings[0].waiting).toBeGreaterThanOrEqual(900);
    } finally {
      await hookd.stop();
    }
  }, 90_000);
});
