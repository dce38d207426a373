import { headers } from "@nats-io/nats-core";
import { describe, expect, it } from "vitest";
import { FenceReader, sourcedSequenceOf } from "./first-hand-out-fence.ts";
import { createLayout } from "./layout.ts";

/** A read that the test answers by hand, recording when each one started. */
function manualReads() {
  const reads: { answer: (value: number) => void; fail: (error: Error) => void }[] = [];
  const read = () =>
    new Promise<number>((resolve, reject) => {
      reads.push({ answer: resolve, fail: reject });
    });
  return { reads, read };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("FenceReader", () => {
  it("answers any number of callers with two reads at most: the one under way, and one after it", async () => {
    const { reads, read } = manualReads();
    const fence = new FenceReader(read);
    const first = fence.latest();
    const rest = Promise.all(Array.from({ length: 50 }, () => fence.latest()));
    expect(reads).toHaveLength(1);
    reads[0]!.answer(7);
    expect(await first).toBe(7);
    await tick();
    expect(reads).toHaveLength(2);
    reads[1]!.answer(8);
    expect(new Set(await rest)).toEqual(new Set([8]));
    expect(reads).toHaveLength(2);
  });

  it("never answers a caller with a read that started before it asked", async () => {
    const { reads, read } = manualReads();
    const fence = new FenceReader(read);
    const early = fence.latest();
    // Asked while the first read is out: that read may have missed a fence raised just now.
    const late = fence.latest();
    const later = fence.latest();
    expect(reads).toHaveLength(1);
    reads[0]!.answer(3);
    expect(await early).toBe(3);
    await tick();
    expect(reads).toHaveLength(2);
    reads[1]!.answer(9);
    expect(await late).toBe(9);
    expect(await later).toBe(9);
  });

  it("reads again for a caller after the last read ended, and passes a failed read on", async () => {
    const { reads, read } = manualReads();
    const fence = new FenceReader(read);
    const first = fence.latest();
    reads[0]!.fail(new Error("NATS away"));
    await expect(first).rejects.toThrow("NATS away");
    await tick();
    const second = fence.latest();
    expect(reads).toHaveLength(2);
    reads[1]!.answer(4);
    expect(await second).toBe(4);
  });
});

describe("sourcedSequenceOf", () => {
  const journal = createLayout().streams.journal;
  const sourced = (value: string) => {
    const h = headers();
    h.set("Nats-Stream-Source", value);
    return h;
  };

  it("reads the journal sequence of a sourced create, in nats-server 2.9's and 2.10's forms", () => {
    expect(sourcedSequenceOf(sourced(`${journal} 42`), journal)).toBe(42);
    expect(sourcedSequenceOf(sourced(`${journal}:Xk3f9 42 > >`), journal)).toBe(42);
  });

  it("says nothing for a message from elsewhere or without the header", () => {
    expect(sourcedSequenceOf(undefined, journal)).toBeNull();
    expect(sourcedSequenceOf(headers(), journal)).toBeNull();
    expect(sourcedSequenceOf(sourced("OTHER_JOURNAL 42"), journal)).toBeNull();
    expect(sourcedSequenceOf(sourced(`${journal} x`), journal)).toBeNull();
    expect(sourcedSequenceOf(sourced(journal), journal)).toBeNull();
  });
});
