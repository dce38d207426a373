import { describe, expect, it } from "vitest";
import type { AttemptFailed, DeliveryCreated } from "./delivery-events.ts";
import {
  deliveryEndedReport,
  endingsOf,
  fittedReportCreated,
  reportCreated,
  reportDeliveryId,
  reportIdsOf,
  reportsOwed,
} from "./delivery-report.ts";
import { fromBase64, toBase64, utf8 } from "./bytes.ts";
import { isDeliveryId } from "./ids.ts";

const created = (data: Partial<DeliveryCreated["data"]> = {}): DeliveryCreated => ({
  type: "delivery.created",
  at: "2026-12-02T00:00:00.000Z",
  data: {
    id: "dlv_01M8T23PWHATE68CCJ1BWRC000",
    request: { url: "https://example.com/hook", method: "POST", headers: {}, body: toBase64(utf8("x")) },
    schedule: [100],
    secrets: ["sealed"],
    source: "api",
    ...data,
  },
});

const failed: AttemptFailed = {
  type: "attempt.failed",
  at: "2026-12-02T00:00:01.000Z",
  data: {
    attempt: 2,
    request: { method: "POST", url: "https://example.com/hook", headers: {} },
    response: { status: 500, headers: { "content-type": "text/plain" }, body: "boom", bodyTruncated: true },
    latencyMs: 2,
    error: "receiver answered 500",
    permanent: false,
    retryAt: "2026-12-02T00:00:01.100Z",
  },
};

describe("reports", () => {
  it("are owed to a callback on either ending and to an errback on failure only, never by a report", () => {
    const both = created({ callbackUrl: "https://c.example/", errbackUrl: "https://e.example/" });
    expect(reportsOwed(both, "delivered").map((r) => r.kind)).toEqual(["callback"]);
    expect(reportsOwed(both, "failed").map((r) => r.kind)).toEqual(["callback", "errback"]);
    expect(reportsOwed(both, "cancelled")).toEqual([]);
    const report = created({ callbackUrl: "https://c.example/", reportOf: { kind: "callback", deliveryId: "dlv_x" } });
    expect(reportsOwed(report, "failed")).toEqual([]);
  });

  it("have ids derived from what they report on and the ending's sequence", async () => {
    const at = Date.parse("2026-12-02T00:00:01.000Z");
    const id = await reportDeliveryId("callback", "dlv_a", 7, at);
    expect(isDeliveryId(id)).toBe(true);
    expect(await reportDeliveryId("callback", "dlv_a", 7, at)).toBe(id);
    expect(await reportDeliveryId("errback", "dlv_a", 7, at)).not.toBe(id);
    expect(await reportDeliveryId("callback", "dlv_a", 8, at)).not.toBe(id);
  });

  it("find each ending: the last step of a message that leaves the delivery delivered or failed", async () => {
    const steps = [
      { seq: 3, event: { at: "t1" }, after: { state: "in-flight" } },
      { seq: 3, event: { at: "t2" }, after: { state: "failed" } },
      { seq: 4, event: { at: "t3" }, after: { state: "pending" } },
      { seq: 5, event: { at: "t4" }, after: { state: "in-flight" } },
      { seq: 6, event: { at: "2026-12-02T00:00:02.000Z" }, after: { state: "delivered" } },
    ];
    expect(endingsOf(steps).map((step) => step.seq)).toEqual([3, 6]);
    const original = created({ callbackUrl: "https://c.example/" });
    expect(await reportIdsOf(original, steps)).toHaveLength(2);
  });

  it("say how the delivery ended, with the last answer in base64", () => {
    const report = deliveryEndedReport(created(), { state: "failed", at: failed.at, attempts: 2 }, failed);
    expect(report).toMatchObject({
      type: "delivery.failed",
      state: "failed",
      attempts: 2,
      last_error: "receiver answered 500",
      last_response: { status: 500, truncated: true },
    });
    expect(new TextDecoder().decode(fromBase64(report.last_response!.body_base64))).toBe("boom");
    const created2 = reportCreated({
      id: "dlv_01M8T23PWHATE68CCJ1BWRC001",
      at: failed.at,
      url: "https://c.example/",
      report,
      reportOf: { kind: "callback", deliveryId: created().data.id },
      schedule: [1],
      sealedSecrets: ["sealed"],
      dialect: undefined,
    });
    expect(created2.data).toMatchObject({ source: "report", secrets: ["sealed"], request: { method: "POST" } });
    expect(created2.data.callbackUrl).toBeUndefined();
  });

  it("fit in one NATS message: the body is cut and said to be, then the headers go", () => {
    const big = {
      ...failed,
      data: { ...failed.data, response: { ...failed.data.response!, body: "b".repeat(60_000) } },
    };
    const report = deliveryEndedReport(created(), { state: "failed", at: failed.at, attempts: 2 }, big);
    const input = {
      id: "dlv_01M8T23PWHATE68CCJ1BWRC002",
      at: failed.at,
      url: "https://c.example/",
      report: { ...report, last_response: { ...report.last_response!, truncated: false } },
      reportOf: { kind: "callback" as const, deliveryId: created().data.id },
      schedule: [1],
      sealedSecrets: ["sealed"],
      dialect: undefined,
    };
    const size = (event: DeliveryCreated) => utf8(JSON.stringify(event)).byteLength;
    const whole = fittedReportCreated(input, 1024 * 1024);
    expect(whole).toEqual(reportCreated(input));
    const bodyOf = (event: DeliveryCreated) =>
      JSON.parse(new TextDecoder().decode(fromBase64(event.data.request.body)));
    expect(bodyOf(whole).last_response.truncated).toBe(false);
    const cut = fittedReportCreated(input, 50_000);
    expect(size(cut)).toBeLessThanOrEqual(50_000);
    const cutReport = bodyOf(cut);
    expect(cutReport.last_response.truncated).toBe(true);
    const cutBody = new TextDecoder().decode(fromBase64(cutReport.last_response.body_base64));
    expect(cutBody.length).toBeGreaterThan(10_000);
    expect("b".repeat(60_000).startsWith(cutBody)).toBe(true);
    expect(cutReport.last_response.headers).toEqual({ "content-type": "text/plain" });
    const loud = { ...input.report.last_response, headers: { "x-loud": "h".repeat(5_000) } };
    const bare = fittedReportCreated({ ...input, report: { ...input.report, last_response: loud } }, 3_000);
    expect(size(bare)).toBeLessThanOrEqual(3_000);
    expect(bodyOf(bare).last_response).toEqual({ status: 500, headers: {}, body_base64: "", truncated: true });
  });
});
