import { jetstream } from "@nats-io/jetstream";
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "../src/log.ts";
import { createLayout } from "../src/nats/layout.ts";
import { api, startTestHookd, waitForState } from "./support/hookd.ts";
import { hookdSuite } from "./support/suite.ts";

/**
 * A worker that meets a journal message it cannot read (a newer hookd's, or a damaged one) hands the
 * work back for a minute, so that a newer instance can take it, instead of failing it every second.
 */

const suite = hookdSuite({ hookd: "none", receiver: false, connect: true });

describe("a delivery whose journal a worker cannot read", () => {
  it("is handed back for a minute with one warning naming the message, not retried every second", async () => {
    const lines: string[] = [];
    const log = createLogger("warn", new Writable({ write: (chunk, _, done) => done(void lines.push(String(chunk))) }));
    const hookd = await startTestHookd(suite.nats.url, { HOOKD_RETRY_SCHEDULE: "2s" }, log);
    try {
      const r = await suite.startReceiver((_request, index) => ({ status: index === 0 ? 503 : 200 }));
      const response = await api(hookd.url, `/dispatch?_url=${encodeURIComponent(r.url)}`, {
        method: "POST",
        body: "x",
      });
      const { id } = (await response.json()) as { id: string };
      await waitForState(hookd.url, id, "backoff");
      const subject = createLayout().subjects.deliveryTransitions(id);
      await jetstream(suite.nc).publish(subject, '{"steps": [');
      // The retry was due 2 s after the failure; a failing work item comes back after 1 s when not recognised.
      await new Promise((resolve) => setTimeout(resolve, 5_000));
      expect(r.requests).toHaveLength(1);
      const warnings = lines.map((line) => JSON.parse(line)).filter((entry) => /cannot be read/.test(entry.msg));
      expect(warnings).toEqual([
        expect.objectContaining({ level: 40, err: expect.objectContaining({ subject, seq: 2 }) }),
      ]);
      expect(lines.map((line) => JSON.parse(line)).filter((entry) => entry.level >= 50)).toEqual([]);
    } finally {
      await hookd.stop();
    }
  }, 20_000);
});
