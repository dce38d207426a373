import { describe, expect, it } from "vitest";
import { atobCodec, fromBase64, toBase64, useBase64 } from "./domain/bytes.ts";
import { nodeBase64 } from "./base64-node.ts";

/**
 * Node's entry point swaps atob and btoa for Buffer's base64 (src/domain/bytes.ts): every stored body must
 * read back the same either way, and text atob refuses (a malformed body_base64 in the API) must still be refused.
 */

const bytesOf = (length: number, seed: number) => Uint8Array.from({ length }, (_, i) => (i * 131 + seed * 17) & 255);

const outcome = (run: () => Uint8Array) => {
  try {
    return { bytes: Array.from(run()) };
  } catch (error) {
    return { refused: (error as Error).name };
  }
};

describe("Node's base64", () => {
  it("writes what btoa writes, for every length of a few groups and for a large body", () => {
    for (const length of [...Array.from({ length: 40 }, (_, i) => i), 70_001]) {
      const bytes = bytesOf(length, length);
      expect(nodeBase64.encode(bytes)).toBe(atobCodec.encode(bytes));
      // A view into a larger buffer is encoded as its own bytes only.
      const inside = new Uint8Array(length + 10);
      inside.set(bytes, 5);
      expect(nodeBase64.encode(inside.subarray(5, 5 + length))).toBe(atobCodec.encode(bytes));
    }
  });

  it("reads back what it wrote, as bytes of their own", () => {
    for (const length of [0, 1, 2, 3, 4, 100, 70_001]) {
      const bytes = bytesOf(length, 3);
      const read = nodeBase64.decode(nodeBase64.encode(bytes));
      expect(Array.from(read)).toEqual(Array.from(bytes));
      expect(read.byteOffset).toBe(0);
      expect(read.buffer.byteLength).toBe(length);
    }
  });

  it("reads and refuses what atob reads and refuses", () => {
    const texts = [
      "",
      "YQ==",
      "YWI=",
      "YWJj",
      "YQ",
      "YWI",
      " YW Jj\n",
      "YQ=",
      "Y",
      "Y$==",
      "YQ===",
      "=YQ=",
      "YW=j",
      "YR==",
      "ÿÿÿÿ",
    ];
    for (const text of texts) {
      expect(outcome(() => nodeBase64.decode(text)), JSON.stringify(text)).toEqual(
        outcome(() => atobCodec.decode(text)),
      );
    }
    expect(outcome(() => nodeBase64.decode("Y$=="))).toEqual({ refused: "InvalidCharacterError" });
  });

  it("reads a body of several megabytes", () => {
    const bytes = bytesOf(4_000_000, 5);
    const text = nodeBase64.encode(bytes);
    expect(text.length).toBeGreaterThan(5_000_000);
    expect(nodeBase64.decode(text)).toEqual(bytes);
  });

  it("is what toBase64 and fromBase64 use once installed", () => {
    try {
      useBase64(nodeBase64);
      expect(toBase64(new TextEncoder().encode("hookd"))).toBe("aG9va2Q=");
      expect(new TextDecoder().decode(fromBase64("aG9va2Q="))).toBe("hookd");
      expect(() => fromBase64("a$")).toThrow();
    } finally {
      useBase64(atobCodec);
    }
  });
});
