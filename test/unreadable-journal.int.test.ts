import { jetstream } from "@nats-io/jetstream";
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "../src/log.ts";
import { createLayout } from "../src/nats/layout.ts";
import { api, eventually, startTestHookd, waitForListed, waitForState } from "./support/hookd.ts";
import { hookdSuite } from "./support/suite.ts";

/**
 * What meets a journal message it cannot read (a newer hookd's, or a damaged one) and is not a request:
 * a worker hands the work back for a minute, so that a newer instance can take it, instead of failing it
 * every second; the indexer leaves that delivery out of the list instead of stalling the list.
 */

const suite = hookdSuite({ hookd: "none", receiver: false, connect: true });

describe("a delivery whose journal hookd cannot read", () => {
  it("is handed back for a minute with one warning naming the message, not retried every second", async () => {
    const lines: string[] = [];
    const log = createLogger("warn", new Writable({ write: (chunk, _, done) => done(void lines.push(String(chunk))) }));
    const hookd = await startTestHookd(suite.nats.url, { HOOKD_RETRY_SCHEDULE: "8s" }, log);
    try {
      const r = await suite.startReceiver((_request, index) => ({ status: index === 0 ? 503 : 200 }));
      const response = await api(hookd.url, `/dispatch?_url=${encodeURIComponent(r.url)}`, {
        method: "POST",
        body: "x",
      });
      const { id } = (await response.json()) as { id: string };
      await waitForState(hookd.url, id, "backoff");
      const subject = createLayout().subjects.deliveryTransitions(id);
      const { seq } = await jetstream(suite.nc).publish(subject, '{"steps": [');
      const warnings = () => lines.map((line) => JSON.parse(line)).filter((entry) => /cannot be read/.test(entry.msg));
      // The retry is due 6.4–9.6 s after the failure (jitter); then, recognised, the next try is a minute away.
      await eventually(async () => warnings().length > 0 || undefined, 25_000, "the worker's warning");
      // Not recognised, a failed work item comes back after a second: three seconds hold about three more.
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      expect(r.requests).toHaveLength(1);
      expect(warnings()).toEqual([
        expect.objectContaining({ level: 40, err: expect.objectContaining({ subject, seq }) }),
      ]);
      expect(lines.map((line) => JSON.parse(line)).filter((entry) => entry.level >= 50)).toEqual([]);
    } finally {
      await hookd.stop();
    }
  }, 60_000);

  it("is left out of the delivery list, and the deliveries after it are listed", async () => {
    const lines: string[] = [];
    const log = createLogger("warn", new Writable({ write: (chunk, _, done) => done(void lines.push(String(chunk))) }));
    const hookd = await startTestHookd(suite.nats.url, {}, log);
    try {
      // A created event with no listing header (as before the index), damaged: the indexer must read the body.
      const damaged = "dlv_01M94BJX8C6PNTM95EM317T999";
      await jetstream(suite.nc).publish(createLayout().subjects.deliveryCreated(damaged), '{"type": "delivery.cr');
      const r = await suite.startReceiver();
      const response = await api(hookd.url, `/dispatch?_url=${encodeURIComponent(r.url)}`, {
        method: "POST",
        body: "x",
      });
      const { id } = (await response.json()) as { id: string };
      const page = await waitForListed(hookd.url, "limit=50", [id]);
      expect(page.data.map((row) => row.id)).not.toContain(damaged);
      const warnings = lines.map((line) => JSON.parse(line)).filter((entry) => entry.deliveryId === damaged);
      expect(warnings).toContainEqual(
        expect.objectContaining({ level: 40, msg: expect.stringMatching(/left out of the delivery list/) }),
      );
    } finally {
      await hookd.stop();
    }
  });
});
