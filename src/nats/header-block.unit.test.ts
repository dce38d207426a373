import { headers } from "@nats-io/transport-node";
import { describe, expect, it } from "vitest";
import { headerBlock, InvalidHeaderError } from "./header-block.ts";

/** The header block must be byte for byte what nats.js's MsgHdrs encodes, and refuse what it refuses. */

const natsEncoded = (entries: [string, string][]) => {
  const hdrs = headers();
  for (const [key, value] of entries) hdrs.set(key, value);
  return (hdrs as unknown as { encode(): Uint8Array }).encode();
};

describe("headerBlock", () => {
  it("encodes as nats.js's MsgHdrs does, values trimmed and keys as given", () => {
    const entries: [string, string][] = [
      ["Hookd-State", "delivered"],
      ["Hookd-Steps", "attempt.started>in-flight attempt.succeeded>delivered"],
      ["hookd-lower-case", "  spaced  "],
      ["Hookd-Empty", ""],
      ["Hookd-Unicode", "café ☕"],
      ["Nats-Expected-Last-Subject-Sequence", "0"],
    ];
    expect(headerBlock(entries).encode()).toEqual(natsEncoded(entries));
  });

  it("refuses a name nats.js refuses: empty, with a colon, a space or a character past ASCII", () => {
    for (const key of ["", "Bad:Name", "Bad Name", "Bäd"]) {
      expect(() => headerBlock([[key, "v"]])).toThrow(InvalidHeaderError);
      if (key !== "") expect(() => natsEncoded([[key, "v"]])).toThrow();
    }
  });

  it("refuses a value with a line break, which could add a header of its own", () => {
    for (const value of ["a\r\nHookd-State: delivered", "a\nb", "a\rb"]) {
      expect(() => headerBlock([["Hookd-Target", value]])).toThrow(InvalidHeaderError);
      expect(() => natsEncoded([["Hookd-Target", value]])).toThrow();
    }
  });
});
