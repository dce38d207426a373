import { describe, expect, it } from "vitest";
import { firstSeqAtOrAfter, parseStreamStart, StreamStartError } from "./stream-start.ts";

const NOW = Date.parse("2026-11-23T12:00:00Z");

describe("parseStreamStart", () => {
  it("starts now by default and for since=now", () => {
    expect(parseStreamStart({}, NOW)).toEqual({ kind: "now" });
    expect(parseStreamStart({ since: "now" }, NOW)).toEqual({ kind: "now" });
  });

  it("resumes after a sequence number, and Last-Event-ID wins over since", () => {
    expect(parseStreamStart({ since: "41" }, NOW)).toEqual({ kind: "after-seq", seq: 41 });
    expect(parseStreamStart({ since: "0" }, NOW)).toEqual({ kind: "after-seq", seq: 0 });
    expect(parseStreamStart({ lastEventId: "7", since: "now" }, NOW)).toEqual({ kind: "after-seq", seq: 7 });
  });

  it("replays from an ISO time; a future time means now", () => {
    expect(parseStreamStart({ since: "2026-11-23T11:00:00Z" }, NOW)).toEqual({
      kind: "at-time",
      at: Date.parse("2026-11-23T11:00:00Z"),
    });
    expect(parseStreamStart({ since: "2026-11-23T11:00:00.250+01:00" }, NOW)).toEqual({
      kind: "at-time",
      at: Date.parse("2026-11-23T10:00:00.250Z"),
    });
    expect(parseStreamStart({ since: "2026-11-22" }, NOW)).toEqual({
      kind: "at-time",
      at: Date.parse("2026-11-22T00:00:00Z"),
    });
    expect(parseStreamStart({ since: "2026-11-24T00:00:00Z" }, NOW)).toEqual({ kind: "now" });
  });

  it("refuses anything else with a message naming the accepted forms", () => {
    for (const since of ["-1", "yesterday", "1.5", "2026-13-45T99:99:99Z", "12abc"]) {
      expect(() => parseStreamStart({ since }, NOW)).toThrow(StreamStartError);
    }
    expect(() => parseStreamStart({ since: "soon" }, NOW)).toThrow(/since must be "now", a sequence number/);
    expect(() => parseStreamStart({ lastEventId: "abc" }, NOW)).toThrow(/Last-Event-ID/);
  });
});

describe("firstSeqAtOrAfter", () => {
  // seq 10..19 stored at t = 100, 110, ..., 190
  const timeOf = async (seq: number) => (seq >= 10 && seq <= 19 ? 100 + (seq - 10) * 10 : null);

  it("finds the first message at or after the time", async () => {
    expect(await firstSeqAtOrAfter(100, 10, 19, timeOf)).toBe(10);
    expect(await firstSeqAtOrAfter(105, 10, 19, timeOf)).toBe(11);
    expect(await firstSeqAtOrAfter(190, 10, 19, timeOf)).toBe(19);
  });

  it("answers last + 1 when everything is older, and the first when everything is newer", async () => {
    expect(await firstSeqAtOrAfter(500, 10, 19, timeOf)).toBe(20);
    expect(await firstSeqAtOrAfter(0, 10, 19, timeOf)).toBe(10);
  });

  it("treats a vanished sequence as older", async () => {
    expect(await firstSeqAtOrAfter(0, 5, 19, timeOf)).toBe(10);
  });
});
